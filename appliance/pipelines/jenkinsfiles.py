"""The Jenkins side of the CI jobs: one declarative Jenkinsfile per job, and its job's config.xml.

Each Jenkinsfile (`appliance/pipelines/jenkins/<job>.Jenkinsfile`, kept equal to `jenkinsfile(job)`)
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
from xml.sax.saxutils import escape

from appliance.contracts.ci import JOBS, parameters

CREDENTIALS_ID = "pathops-ci-config"
PARAMETER_HELP = {
    "PATHOPS_IDEMPOTENCY_KEY": "a rerun with the same key makes no second commit, MR or image",
    "CALLBACK_URL": "the base URL of the PathOps control plane",
    "CALLBACK_TOKEN": "the one-time callback token of this run",
}


def jenkinsfile(job: str) -> str:
    if job not in JOBS:
        raise KeyError(f"unknown CI job {job!r}")
    params = "\n".join(
        f"        string(name: '{name}', defaultValue: '', trim: true, description: '{PARAMETER_HELP.get(name, '')}')"
        for name in parameters(job)
    )
    return (
        f"// PathOps CI job `{job}` (docs/golden-paths.md). The parameters are appliance.contracts.ci's.\n"
        "pipeline {\n"
        "    agent any\n"
        "    options {\n"
        "        timeout(time: 30, unit: 'MINUTES')\n"
        "    }\n"
        "    parameters {\n"
        f"{params}\n"
        "    }\n"
        "    stages {\n"
        f"        stage('{job}') {{\n"
        "            steps {\n"
        f"                withCredentials([file(credentialsId: '{CREDENTIALS_ID}', variable: 'PATHOPS_CI_CONFIG')]) {{\n"
        f"                    sh 'pathops-ci {job}'\n"
        "                }\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


def stored_jenkinsfile(job: str) -> str:
    """The Jenkinsfile shipped in the package (appliance/pipelines/jenkins/<job>.Jenkinsfile)."""
    return resources.files("appliance.pipelines").joinpath("jenkins", f"{job}.Jenkinsfile").read_text()


def config_xml(job: str) -> str:
    """A Jenkins pipeline job (flow-definition) running the job's Jenkinsfile, its parameters declared."""
    definitions = "".join(
        "<hudson.model.StringParameterDefinition>"
        f"<name>{escape(name)}</name><description>{escape(PARAMETER_HELP.get(name, ''))}</description>"
        "<defaultValue></defaultValue><trim>true</trim>"
        "</hudson.model.StringParameterDefinition>"
        for name in parameters(job)
    )
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<flow-definition plugin="workflow-job">'
        f"<description>{escape(f'PathOps CI job {job} (pathops-ci {job})')}</description>"
        "<keepDependencies>false</keepDependencies>"
        "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
        f"{definitions}"
        "</parameterDefinitions></hudson.model.ParametersDefinitionProperty></properties>"
        '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">'
        f"<script>{escape(stored_jenkinsfile(job))}</script><sandbox>true</sandbox></definition>"
        "<triggers/><disabled>false</disabled></flow-definition>\n"
    )


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
