"""The CI jobs in Jenkins: the pipeline config.xml of each job of appliance.contracts.ci
(appliance/adapters/jenkins/jobs.py, the same Jenkinsfiles the project ships), created with
`POST /createItem` or redefined with `POST /job/<job>/config.xml` when it differs. The embedded CI has
the credentials file `PATHOPS_CI_CONFIG` in its environment.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

from appliance.adapters.embedded.client import Http
from appliance.adapters.jenkins.jobs import config_xml, jenkinsfile

__all__ = ["Jenkins", "config_xml", "definition", "jenkinsfile"]


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
