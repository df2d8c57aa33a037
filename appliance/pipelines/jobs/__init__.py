"""The CI jobs, one async function each, `job(run) -> callback payload | None`: agents.py (the jobs
that schedule agents), mr.py (create-mr-from-patch), release.py (build, deploy-preflight, promote).
`appliance.pipelines.catalog` names them."""
