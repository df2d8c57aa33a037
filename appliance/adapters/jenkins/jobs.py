"""The CI jobs as Jenkins knows them: one declarative Jenkinsfile per job of appliance.contracts.ci and
the pipeline job's config.xml (`POST /createItem`, python-jenkins `create_job`).

Each Jenkinsfile declares exactly `appliance.contracts.ci.parameters(job)` as string parameters
(Jenkins drops any other), binds the credentials file `pathops-ci-config` to PATHOPS_CI_CONFIG and
runs one step, `sh 'pathops-ci <job>'`. The shipped copies are appliance/pipelines/jenkins/; the
embedded target's seed creates its jobs from the same text.
"""

from __future__ import annotations

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


def config_xml(job: str, *, script: str | None = None) -> str:
    """A Jenkins pipeline job (flow-definition) running `script` (default: `jenkinsfile(job)`), its
    parameters declared."""
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
        f"<script>{escape(jenkinsfile(job) if script is None else script)}</script><sandbox>true</sandbox></definition>"
        "<triggers/><disabled>false</disabled></flow-definition>\n"
    )
