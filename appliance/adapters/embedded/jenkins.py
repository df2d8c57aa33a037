"""The CI jobs in Jenkins: a pipeline config.xml per job of appliance.contracts.ci, created with
`POST /createItem` or redefined with `POST /job/<job>/config.xml` when it differs.

Each job declares its parameters (`parameters(job)`, as string parameters) and runs ONE step,
`sh 'pathops-ci <job>'`, with the CI credentials file as `PATHOPS_CI_CONFIG` (in a real Jenkins, the
file credential `pathops-ci-config`; the embedded CI has it in its environment).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote
from xml.sax.saxutils import escape

from appliance.adapters.embedded.client import Http
from appliance.contracts.ci import JOBS, parameters
from appliance.ports.errors import PermanentError


def jenkinsfile(job: str) -> str:
    params = "\n".join(
        f"        string(name: '{name}', defaultValue: '', description: '')" for name in parameters(job)
    )
    return (
        "pipeline {\n"
        "    agent any\n"
        "    parameters {\n"
        f"{params}\n"
        "    }\n"
        "    stages {\n"
        f"        stage('{job}') {{\n"
        "            steps {\n"
        "                withCredentials([file(credentialsId: 'pathops-ci-config', variable: 'PATHOPS_CI_CONFIG')]) {\n"
        f"                    sh 'pathops-ci {job}'\n"
        "                }\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


def config_xml(job: str) -> str:
    """The job's pipeline definition, as Jenkins stores it (flow-definition)."""
    if job not in JOBS:
        raise PermanentError(f"no CI job named {job!r}", system="jenkins")
    definitions = "".join(
        "<hudson.model.StringParameterDefinition>"
        f"<name>{escape(name)}</name><description></description><defaultValue></defaultValue><trim>true</trim>"
        "</hudson.model.StringParameterDefinition>"
        for name in parameters(job)
    )
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<flow-definition plugin="workflow-job">'
        f"<description>PathOps CI job {escape(job)}: runs pathops-ci {escape(job)}</description>"
        "<keepDependencies>false</keepDependencies>"
        "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
        f"{definitions}"
        "</parameterDefinitions></hudson.model.ParametersDefinitionProperty></properties>"
        '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">'
        f"<script>{escape(jenkinsfile(job))}</script><sandbox>true</sandbox></definition>"
        "<triggers/><disabled>false</disabled></flow-definition>\n"
    )


def definition(xml: str) -> tuple[tuple[str, ...], str] | None:
    """What matters of a config.xml: the parameter names and the pipeline script (Jenkins may reformat
    the rest); None when it is not a pipeline's."""
    try:
        root = ET.fromstring(xml.strip())
    except ET.ParseError:
        return None
    names = tuple(n.text or "" for n in root.iterfind("./properties//parameterDefinitions/*/name"))
    script = root.findtext("./definition/script")
    return None if script is None else (names, script.strip())


class Jenkins:
    def __init__(self, url: str, user: str, token: str) -> None:
        self.http = Http("jenkins", url, auth=(user, token), secrets=(token,))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _crumb(self) -> dict[str, str]:
        found = await self.http.request("GET", "/crumbIssuer/api/json", what="get a crumb", allow=(404,))
        if found.status_code == 404:  # crumbs disabled
            return {}
        body = found.json()
        return {str(body["crumbRequestField"]): str(body["crumb"])}

    async def ensure_job(self, job: str) -> str:
        """'' when the job is defined as wanted, else 'created' or 'updated'."""
        wanted = config_xml(job)
        what = f"ensure Jenkins job {job}"
        path = f"/job/{quote(job, safe='')}/config.xml"
        found = await self.http.request("GET", path, what=what, allow=(404,))
        if found.status_code == 200 and definition(found.text) == definition(wanted):
            return ""
        headers = {"Content-Type": "application/xml", **(await self._crumb())}
        if found.status_code == 404:
            await self.http.request(
                "POST",
                "/createItem",
                what=what,
                params={"name": job},
                content=wanted.encode(),
                headers=headers,
            )
            return "created"
        await self.http.request("POST", path, what=what, content=wanted.encode(), headers=headers)
        return "updated"
