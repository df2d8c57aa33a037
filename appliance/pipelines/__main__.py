"""`python -m appliance.pipelines <job>`: the same as `pathops-ci <job>`."""

from appliance.pipelines.cli import main

raise SystemExit(main())
