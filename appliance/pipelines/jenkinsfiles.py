"""The Jenkins side of the CI jobs: one declarative Jenkinsfile per job, and its job's config.xml.

Each Jenkinsfile (`appliance/pipelines/jenkins/<job>.Jenkinsfile`, kept equal to `jenkinsfile(job)` of
appliance/adapters/jenkins/jobs.py)
declares exactly `appliance.contracts.ci.parameters(job)` as string parameters (Jenkins drops any
other), binds the credentials file `pathops-ci-config` to PATHOPS_CI_CONFIG and runs one step,
`sh 'pathops-ci <job>'`. `config_xml(job)` is the pipeline job to create with Jenkins' API
(`POST /createItem`, python-jenkins `create_job`): a flow-definition with the Jenkinsfile as its script.

    python -m appliance.pipelines.jenkinsfiles DIR    writes <job>.Jenkinsfile and <job>.xml into DIR
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from appliance.adapters.jenkins import jobs
from appliance.adapters.jenkins.jobs import jenkinsfile
from appliance.contracts.ci import JOBS


def stored_jenkinsfile(job: str) -> str:
    """The Jenkinsfile shipped in the package (appliance/pipelines/jenkins/<job>.Jenkinsfile)."""
    return resources.files("appliance.pipelines").joinpath("jenkins", f"{job}.Jenkinsfile").read_text()


def config_xml(job: str) -> str:
    """A Jenkins pipeline job (flow-definition) running the shipped Jenkinsfile, its parameters declared."""
    return jobs.config_xml(job, script=stored_jenkinsfile(job))


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for job in JOBS:
        for path, text in (
            (directory / f"{job}.Jenkinsfile", jenkinsfile(job)),
            (directory / f"{job}.xml", config_xml(job)),
        ):
            path.write_text(text)
            written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(written_path)
