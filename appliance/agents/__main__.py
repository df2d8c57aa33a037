"""`python -m appliance.agents evidence|fix|verify` (see cli.py)."""

from appliance.agents.cli import main

raise SystemExit(main())
