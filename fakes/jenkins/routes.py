"""The remote access API's endpoints (remote-access-api.md, "Endpoints the appliance needs")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fakes.jenkins import api
from fakes.jenkins.engine import Engine
from fakes.jenkins.http import Handler, Reply, Request, Route, error_page, json_reply, redirect, text_reply
from fakes.jenkins.model import Build, Job, JobError, job_from_xml

JOB = r"/job/(?P<job>[^/]+)"
RUN = JOB + r"/(?P<run>\d+|firstBuild|last[A-Za-z]*Build)"
DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|sec|secs|s|min|mins)?\s*$")


def _delay(text: str | None) -> float | None:
    match = DELAY.match(text or "")
    if match is None:
        return None
    n, unit = float(match.group(1)), match.group(2) or "sec"
    return n / 1000 if unit == "ms" else n * 60 if unit.startswith("min") else n


class Routes:
    def __init__(self, engine: Engine, *, crumb: Callable[[str], str], executors: int, secured: bool) -> None:
        self.engine, self.crumb, self.executors, self.secured = engine, crumb, executors, secured

    def table(self) -> list[Route]:
        def r(methods: str, path: str, handler: Handler, permission: str = "read") -> Route:
            return Route(tuple(methods.split()), re.compile(path), handler, permission)

        return [
            r("GET", r"/", self.dashboard),
            r("GET", r"/api/json", self.root),
            r("GET", r"/crumbIssuer/api/json", self.crumb_issuer),
            r("GET", r"/me/api/json", self.me),
            r("GET", r"/whoAmI/api/json", self.who_am_i),
            r("GET", r"/queue/api/json", self.queue),
            r("GET", r"/queue/item/(?P<id>\d+)/api/json", self.queue_item),
            r("POST", r"/queue/cancelItem", self.cancel_item, "cancel"),
            r("POST", r"/createItem", self.create_item, "create"),
            r("GET", JOB + r"/?", self.job_page),
            r("GET", JOB + r"/api/json", self.job),
            r("GET", JOB + r"/config\.xml", self.get_config, "extended_read"),
            r("POST", JOB + r"/config\.xml", self.post_config, "configure"),
            r("POST", JOB + r"/build", self.build, "build"),
            r("POST", JOB + r"/buildWithParameters", self.build_with_parameters, "build"),
            r("POST", JOB + r"/(?:doDelete|delete)", self.delete, "delete"),
            r("POST", JOB + r"/(?P<switch>enable|disable)", self.switch, "configure"),
            r("GET", RUN + r"/?", self.run_page),
            r("GET", RUN + r"/api/json", self.run),
            r("GET", RUN + r"/consoleText", self.console),
            r("GET", RUN + r"/logText/progressiveText", self.progressive),
            r("POST", RUN + r"/stop", self.stop, "cancel"),
        ]

    # --- helpers ---------------------------------------------------------------------------------
    def _job(self, req: Request) -> Job | None:
        assert req.match is not None
        name = req.match.group("job")
        req.object = f"job {name}"
        return self.engine.jobs.get(name)

    def _run(self, req: Request) -> tuple[Job | None, Build | None]:
        job = self._job(req)
        assert req.match is not None
        ref = req.match.group("run")
        if job is None:
            return None, None
        build = job.builds.get(int(ref)) if ref.isdigit() else api.permalink(job, ref)
        if build is not None:
            req.object = f"job {job.name} #{build.number}"
        return job, build

    def _export(self, req: Request, make: Callable[[bool], Any]) -> Reply:
        """`tree=` (answered from the whole graph) or `depth=`: the api/json of one object."""
        tree = req.arg("tree")
        try:
            depth = int(req.arg("depth") or 0)
            if tree is not None:
                return json_reply(api.apply_tree(make(True), api.parse_tree(tree)))
        except (ValueError, api.TreeError) as exc:
            return error_page(400, str(exc), req)
        return json_reply(make(depth >= 1))

    # --- the server ------------------------------------------------------------------------------
    async def dashboard(self, req: Request) -> Reply:
        rows = "".join(f'<li><a href="job/{j}/">{j}</a></li>' for j in sorted(self.engine.jobs))
        page = f"<html><head><title>Dashboard [Jenkins]</title></head><body><ul>{rows}</ul></body></html>"
        return Reply(200, page.encode())

    async def root(self, req: Request) -> Reply:
        return self._export(req, lambda rich: api.root_json(self.engine, req.root, rich=rich,
                                                            executors=self.executors) | {"useSecurity": self.secured})  # fmt: skip

    async def crumb_issuer(self, req: Request) -> Reply:
        req.object = "crumb"
        return json_reply({"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": self.crumb(req.identity),
                           "crumbRequestField": "Jenkins-Crumb"})  # fmt: skip

    async def me(self, req: Request) -> Reply:
        req.object = f"user {req.identity}"
        return json_reply({"_class": "hudson.model.User", "absoluteUrl": f"{req.root}user/{req.identity}",
                           "description": None, "fullName": req.identity, "id": req.identity, "property": []})  # fmt: skip

    async def who_am_i(self, req: Request) -> Reply:
        anonymous = req.identity == "anonymous"
        return json_reply({"_class": "hudson.security.WhoAmI", "anonymous": anonymous,
                           "authenticated": not anonymous, "authorities": [] if anonymous else ["authenticated"],
                           "name": req.identity, "toString": f"name: {req.identity}"})  # fmt: skip

    # --- the queue -------------------------------------------------------------------------------
    async def queue(self, req: Request) -> Reply:
        req.object = "queue"
        items = sorted(self.engine.waiting(), key=lambda i: -i.id)
        return self._export(req, lambda rich: {"_class": "hudson.model.Queue", "discoverableItems": [],
                                               "items": [api.queue_item_json(self.engine, req.root, i) for i in items]})  # fmt: skip

    async def queue_item(self, req: Request) -> Reply:
        assert req.match is not None
        item = self.engine.queue.get(int(req.match.group("id")))
        req.object = f"queue item {req.match.group('id')}"
        if item is None:
            return error_page(404, "Not Found", req)
        return self._export(req, lambda rich: api.queue_item_json(self.engine, req.root, item))

    async def cancel_item(self, req: Request) -> Reply:
        ident = req.arg("id") or ""
        item = self.engine.queue.get(int(ident)) if ident.isdigit() else None
        req.object = f"queue item {ident}"
        if item is None:
            return error_page(404, "Not Found", req)
        self.engine.cancel(item)
        return Reply(204)

    # --- jobs ------------------------------------------------------------------------------------
    async def create_item(self, req: Request) -> Reply:
        name = req.arg("name")
        if not name:
            return error_page(400, "Query parameter 'name' is required", req)
        req.object = f"job {name}"
        if name in self.engine.jobs:
            return error_page(400, f"A job already exists with the name ‘{name}’", req)  # noqa: RUF001 (Jenkins' quotes)
        try:
            if req.arg("mode") == "copy":
                source = self.engine.jobs.get(req.arg("from") or "")
                if source is None:
                    return error_page(400, f"No such job: {req.arg('from')}", req)
                job = job_from_xml(name, source.config_xml, default_timeout=source.timeout_s)
                job.steps = [list(s) for s in source.steps]
            else:
                job = job_from_xml(name, req.body.decode("utf-8", "replace"),
                                   default_timeout=self.engine.default_timeout)  # fmt: skip
        except JobError as exc:
            return error_page(400, str(exc), req)
        self.engine.put_job(job)
        return Reply(200)

    async def job_page(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        return Reply(200, f"<html><head><title>{job.name} [Jenkins]</title></head><body/></html>".encode())

    async def job(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        return self._export(req, lambda rich: api.job_json(self.engine, req.root, job, rich=rich))

    async def get_config(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        return Reply(200, job.config_xml.encode(), "application/xml")

    async def post_config(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        try:
            new = job_from_xml(job.name, req.body.decode("utf-8", "replace"), default_timeout=job.timeout_s)
        except JobError as exc:
            return error_page(400, str(exc), req)
        self.engine.put_job(new)
        return Reply(200)

    async def delete(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        self.engine.delete_job(job.name)
        return redirect(req.root)

    async def switch(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        assert req.match is not None
        job.disabled = req.match.group("switch") == "disable"
        self.engine.put_job(job)
        return redirect(api.job_url(req.root, job))

    async def build(self, req: Request) -> Reply:
        """POST job/NAME/build: a parameterized job takes the form's `json` field (or its defaults)."""
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        submitted: dict[str, list[str]] = {}
        if job.params:
            raw = req.arg("json")
            if raw is None:
                return error_page(400, "This page expects a form submission", req)
            try:
                given = json.loads(raw).get("parameter", [])
                for p in [given] if isinstance(given, dict) else given:
                    if job.param(str(p["name"])) is None:
                        return error_page(400, f"No such parameter definition: {p['name']}", req)
                    submitted[str(p["name"])] = [str(p.get("value", "")).lower() if isinstance(p.get("value"), bool)
                                                 else str(p.get("value", ""))]  # fmt: skip
            except (ValueError, AttributeError, KeyError, TypeError):
                return error_page(400, "This page expects a form submission", req)
        return self._trigger(req, job, submitted)

    async def build_with_parameters(self, req: Request) -> Reply:
        job = self._job(req)
        if job is None:
            return error_page(404, "Not Found", req)
        if not job.params:
            return error_page(500, "This build is not parameterized!", req)
        control = ("Jenkins-Crumb", "delay", "token", "cause")  # request controls, never parameters
        return self._trigger(req, job, {k: v for k, v in req.params().items() if k not in control})

    def _trigger(self, req: Request, job: Job, submitted: dict[str, list[str]]) -> Reply:
        if job.disabled:
            return error_page(409, f"{job.name} is not buildable", req)
        try:
            item = self.engine.trigger(job, submitted, user=req.identity, root_url=req.root,
                                       delay=_delay(req.arg("delay")))  # fmt: skip
        except JobError as exc:
            return error_page(400, str(exc), req)
        req.object = f"job {job.name} queue item {item.id}"
        return Reply(201, headers=[("Location", f"{req.root}queue/item/{item.id}/")])

    # --- builds ----------------------------------------------------------------------------------
    async def run_page(self, req: Request) -> Reply:
        job, build = self._run(req)
        if job is None or build is None:
            return error_page(404, "Not Found", req)
        title = f"{job.name} #{build.number} [Jenkins]"
        return Reply(200, f"<html><head><title>{title}</title></head><body/></html>".encode())

    async def run(self, req: Request) -> Reply:
        job, build = self._run(req)
        if job is None or build is None:
            return error_page(404, "Not Found", req)
        return self._export(req, lambda rich: api.run_json(req.root, job, build))

    async def console(self, req: Request) -> Reply:
        job, build = self._run(req)
        if job is None or build is None:
            return error_page(404, "Not Found", req)
        return text_reply(bytes(build.console))

    async def progressive(self, req: Request) -> Reply:
        job, build = self._run(req)
        if job is None or build is None:
            return error_page(404, "Not Found", req)
        start = req.arg("start") or "0"
        size = len(build.console)
        offset = min(int(start), size) if start.isdigit() else 0
        headers = [("X-Text-Size", str(size))] + ([("X-More-Data", "true")] if build.building else [])
        return text_reply(bytes(build.console[offset:size]), headers=headers)

    async def stop(self, req: Request) -> Reply:
        job, build = self._run(req)
        if job is None or build is None:
            return error_page(404, "Not Found", req)
        self.engine.stop(build, user=req.identity)
        return redirect(f"{api.job_url(req.root, job)}{build.number}/")
