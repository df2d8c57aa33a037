"""Play a scenario on a target, step by step, and judge it.

Each step is carried out (a commit, an alert, a fault, a kill, a person's action) or waited for (an
`expect`), and gets a verdict with what it saw and links to the real artifacts. After the first
failed step the rest are skipped. Then the least-privilege checks read the fakes' access logs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, Protocol

import gitlab
import httpx
import msgspec
import yaml

from appliance.contracts.entities import ID_PREFIXES
from appliance.scenarios import checks
from appliance.scenarios.embedded import EmbeddedTarget, TargetError
from appliance.scenarios.model import Act, Alert, Commit, Expect, Fault, Kill, Scenario, Step, render
from appliance.scenarios.verdict import ScenarioVerdict, StepVerdict, scenario_status

PLURAL = {
    "incident": "incidents",
    "changeset": "changesets",
    "artifact": "artifacts",
    "preflight": "preflights",
}
BY_PREFIX = {prefix: PLURAL[kind] for prefix, kind in ID_PREFIXES.items()}
FAULTS = {  # scenario fault -> the fakes' fault (fakes/common/faults.py)
    "unavailable": {"kind": "error", "status": 503},
    "error": {"kind": "error", "status": 500},
    "slow": {"kind": "latency", "delay_s": 3.0},
}
CALLBACK = {  # scenario fault -> the Jenkins fake's fault on a job's next build, and how to say it
    "lose-callback": ("drop", "is lost on its way"),
    "duplicate-callback": ("duplicate", "is sent twice"),
}
POLL_S = 0.5


class StepFailed(Exception):
    """The step did not hold: its detail says what was seen instead."""


class Observer(Protocol):
    """Who watches a play step by step (the console's guided playback).

    `started` is called before step `n` (1-based) is carried out and may block: that is how a
    person pauses, steps or slows the play. `finished` gets the step's verdict, skipped ones too.
    """

    def started(self, n: int, step: Step) -> None: ...

    def finished(self, n: int, step: Step, verdict: StepVerdict) -> None: ...


@dataclass
class Play:
    """One scenario's run: the target, the values steps saved, the links they made."""

    scenario: Scenario
    target: EmbeddedTarget
    values: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    # -- clients

    def api(self, method: str, path: str, *, role: str = "owner", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(role)}"}
        deadline = time.monotonic() + 60
        while True:  # the appliance may be restarting (a kill step): wait for it, as a person would
            self.target.supervise()
            try:
                return httpx.request(method, self.target.url + path, headers=headers, timeout=30, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise StepFailed(f"the appliance did not answer {method} {path} for 60 s") from None
                time.sleep(POLL_S)

    def token(self, role: str) -> str:
        if role == "owner":
            return self.target.owner_token()
        if role not in self.tokens:
            name = f"scenario-{role}"
            owner = {"Authorization": f"Bearer {self.target.owner_token()}"}
            httpx.post(
                f"{self.target.url}/api/users", json={"name": name, "role": role}, headers=owner, timeout=30
            )
            issued = httpx.post(f"{self.target.url}/api/tokens", json={"user": name, "label": "scenario"},
                                headers=owner, timeout=30)  # fmt: skip
            if issued.status_code != 201:
                raise StepFailed(f"could not issue a {role} token: {issued.status_code} {issued.text}")
            self.tokens[role] = str(issued.json()["token"])
        return self.tokens[role]

    def gitlab(self) -> gitlab.Gitlab:
        found = self.target.endpoints()["gitlab"]
        return gitlab.Gitlab(found["url"], private_token=found["tokens"]["admin"])

    def repo(self, name: str) -> str:
        project = self.scenario.setup.project
        return f"{project}/{project}-meta" if name == "meta" else f"{project}/{name}"

    # -- steps

    def setup(self) -> None:
        """Set the project's autonomy levels as the scenario asks (re-imported into PathOps)."""
        setup = self.scenario.setup
        if setup.autonomy is None and not setup.environments:
            return
        meta = yaml.safe_load(self._meta())
        if setup.autonomy is not None:
            meta["autonomy"] = setup.autonomy
        for env in meta.get("environments") or []:
            if env.get("name") in setup.environments:
                env["autonomy"] = setup.environments[env["name"]]
        self._import(yaml.safe_dump(meta, sort_keys=False), "the project's autonomy was refused")

    def restore(self) -> None:
        """Put the project back as its meta repo says (undo `setup`): on a target that outlives the
        scenario, the next scenario and the console must not find the levels this one set."""
        setup = self.scenario.setup
        if setup.autonomy is None and not setup.environments:
            return
        self._import(self._meta(), "the project's autonomy was not put back")

    def _meta(self) -> str:
        """The project's `project.yaml` on the meta repo's main."""
        meta_repo = self.gitlab().projects.get(self.repo("meta"))
        return str(meta_repo.files.get("project.yaml", ref="main").decode().decode())

    def _import(self, meta: str, failed: str) -> None:
        imported = self.api("POST", "/api/projects/import", content=meta)
        if imported.status_code != 201:
            raise StepFailed(f"{failed}: {imported.status_code} {imported.text}")

    def run(self, step: Step) -> tuple[str, dict[str, str]]:
        """Carry out or wait for one step: (what happened, links)."""
        action = step.action
        if isinstance(action, Commit):
            said, links, sha = self.commit(action)
            self.values[f"sha:{step.id}"] = sha
            return said, links
        if isinstance(action, Alert):
            return self.alert(action)
        if isinstance(action, Fault):
            return self.fault(action)
        if isinstance(action, Kill):
            self.target.kill(
                crashpoint=f"{action.at}:1" if action.at else "", restart_after=action.restart_after
            )
            return (
                f"the appliance was killed and started again{f' (crash point {action.at})' if action.at else ''}",
                {},
            )
        if isinstance(action, Act):
            return self.act(action)
        if isinstance(action, Expect):
            return self.expect(action)
        raise StepFailed(f"a {step.kind} step is not supported on the {self.target.name} target")

    def commit(self, commit: Commit) -> tuple[str, dict[str, str], str]:
        project = self.gitlab().projects.get(self.repo(commit.repo))
        branch = render(commit.branch, self.values)
        actions: dict[
            str, dict[str, str]
        ] = {}  # path -> its action; later edits of a file build on earlier ones
        for edit in commit.edits:
            path = render(edit.file, self.values)
            if edit.delete:
                actions[path] = {"action": "delete", "file_path": path}
                continue
            if edit.content is not None:
                actions[path] = {"action": "update" if _exists(project, path, branch) else "create",
                                 "file_path": path, "content": render(edit.content, self.values)}  # fmt: skip
                continue
            before = actions.get(path)
            text = before["content"] if before else project.files.get(path, ref=branch).decode().decode()
            pattern = re.compile(edit.replace or "", re.MULTILINE)
            changed = pattern.sub(render(edit.with_, self.values), text)
            if changed == text:
                raise StepFailed(f"{commit.repo}:{path} has nothing that matches {edit.replace!r}")
            actions[path] = {"action": before["action"] if before else "update", "file_path": path,
                             "content": changed}  # fmt: skip
        made = project.commits.create(
            {
                "branch": branch,
                "commit_message": render(commit.message, self.values),
                "actions": list(actions.values()),
            }
        )
        return f"{commit.repo}@{made.id[:12]}: {commit.message}", {"commit": str(made.web_url)}, str(made.id)

    def alert(self, alert: Alert) -> tuple[str, dict[str, str]]:
        url = self.target.endpoints()["alertmanager"]["url"]
        labels = {k: render(v, self.values) for k, v in alert.labels.items()}
        body = [{"labels": labels, "annotations": dict(alert.annotations),
                 "startsAt": datetime.now(UTC).isoformat()}]  # fmt: skip
        for n in range(alert.repeat):
            if n:
                time.sleep(alert.every)
            posted = httpx.post(f"{url}/api/v2/alerts", json=body, timeout=30)
            if posted.status_code >= 300:
                raise StepFailed(f"Alertmanager refused the alert: {posted.status_code} {posted.text}")
        if alert.resolve_after is not None:
            time.sleep(alert.resolve_after)
            body[0]["endsAt"] = datetime.now(UTC).isoformat()
            httpx.post(f"{url}/api/v2/alerts", json=body, timeout=30)
        return f"alert {labels.get('alertname', '')} posted {alert.repeat} time(s)", {}

    def fault(self, fault: Fault) -> tuple[str, dict[str, str]]:
        if fault.fault in CALLBACK and fault.job:  # the network between CI and PathOps
            kind, said = CALLBACK[fault.fault]
            self.target.add_fault("jenkins", {"kind": kind, "path": f"job/{fault.job}", "count": 1,
                                              "for_s": fault.for_})  # fmt: skip
            return f"the next callback of CI job {fault.job} {said}", {}
        if fault.system == "pathops" or fault.fault not in FAULTS:
            raise StepFailed(
                f"fault {fault.fault} of {fault.system} is not supported on the {self.target.name} target"
            )
        spec = {**FAULTS[fault.fault], "path": "*", "for_s": fault.for_}
        self.target.add_fault(fault.system, spec)
        return f"{fault.system}: {fault.fault} for {fault.for_:g} s", {}

    def act(self, act: Act) -> tuple[str, dict[str, str]]:
        target = render(act.target, self.values)
        if act.action == "merge":
            return self.merge(target)
        if act.action == "feature":
            created = self.api("POST", "/api/features", role=act.as_,
                               json={"project": self.scenario.setup.project, "title": target})  # fmt: skip
            if created.status_code != 201:
                raise StepFailed(
                    f"feature {target!r} as {act.as_}: {created.status_code} {created.text[:300]}"
                )
            cs = str(created.json()["id"])
            return f"feature {target!r} is change set {cs}", {cs: f"{self.target.url}/api/changesets/{cs}"}
        collection = next((c for p, c in BY_PREFIX.items() if target.startswith(p)), None)
        if collection is None:
            raise StepFailed(f"{target!r} names no incident, change set, artifact or preflight run")
        response = self.api("POST", f"/api/{collection}/{target}/{act.action}", role=act.as_,
                            json={"comment": f"scenario {self.scenario.name}"})  # fmt: skip
        wanted = act.expect_status
        if (wanted is None and response.status_code >= 300) or (
            wanted is not None and response.status_code != wanted
        ):
            raise StepFailed(
                f"{act.action} {target} as {act.as_}: {response.status_code} {response.text[:300]}"
            )
        return f"{act.action} {target} as {act.as_}: {response.status_code}", {
            target: f"{self.target.url}/api/{collection}/{target}"
        }

    def merge(self, changeset: str) -> tuple[str, dict[str, str]]:
        state = self.state("changesets", changeset)
        if state is None:
            raise StepFailed(f"no change set {changeset}")
        urls = list(dict(state.get("mrs") or {}).values()) or [state.get("mr_url") or ""]
        gl, merged = self.gitlab(), {}
        for url in urls:
            found = re.search(r"/(?P<project>[^/]+/[^/]+)/-/merge_requests/(?P<iid>\d+)", url)
            if not found:
                raise StepFailed(f"change set {changeset} has no merge request to merge ({url!r})")
            gl.projects.get(found["project"]).mergerequests.get(int(found["iid"])).merge()
            merged[f"mr {found['project']}!{found['iid']}"] = url
        return f"merged {len(merged)} MR(s) of {changeset} in GitLab", merged

    def state(self, collection: str, id: str) -> dict[str, Any] | None:
        response = self.api("GET", f"/api/{collection}/{id}")
        return dict(response.json()["state"]) if response.status_code == 200 else None

    def matching(self, expect: Expect) -> tuple[dict[str, Any] | None, str]:
        """The first instance the expectation holds for, or None and what was seen instead."""
        held, seen = self.holding(expect)
        return (held[0] if held else None), seen

    def holding(self, expect: Expect) -> tuple[list[dict[str, Any]], str]:
        """Every instance the expectation holds for, and what the others showed."""
        collection = PLURAL.get(expect.kind)
        if collection is None:
            raise StepFailed(f"{expect.kind} is not readable through the API")
        pattern = render(expect.id, self.values)
        if any(c in pattern for c in "*?["):
            response = self.api("GET", f"/api/{collection}", params={"limit": "500"})
            states = (
                [dict(i["state"]) for i in response.json() if fnmatchcase(i["id"], pattern)]
                if response.status_code == 200
                else []
            )
        else:
            found = self.state(collection, pattern)
            states = [found] if found else []
        if not states:
            return [], f"no {expect.kind} {pattern}"
        held, seen = [], []
        for state in states:
            problems = self.problems(expect, state)
            if problems:
                seen.append(f"{state.get('id')}: {'; '.join(problems)}")
            else:
                held.append(state)
        return held, " | ".join(seen[:3])

    def problems(self, expect: Expect, state: dict[str, Any]) -> list[str]:
        out = []
        if expect.phase and state.get("phase") not in expect.phase:
            out.append(f"phase {state.get('phase')!r}, not {' or '.join(expect.phase)}")
        for name, check in expect.fields.items():
            if isinstance(check.equals, str):
                check = msgspec.structs.replace(check, equals=render(check.equals, self.values))
            if not check.holds(state.get(name)):
                out.append(f"{name} is {str(state.get(name))[:200]!r}")
        return out

    def expect(self, expect: Expect) -> tuple[str, dict[str, str]]:
        if expect.count is not None:
            return self.expect_count(expect, expect.count)
        deadline, seen = time.monotonic() + expect.within, ""
        while time.monotonic() < deadline:
            state, seen = self.matching(expect)
            if state is not None and expect.never:
                raise StepFailed(f"it happened: {state.get('id')} is {state.get('phase')}")
            if state is not None:
                return f"{state.get('id')} is {state.get('phase')}", self.found(expect, [state])
            time.sleep(POLL_S)
        if expect.never:
            return f"for {expect.within:g} s it did not happen ({seen})", {}
        raise StepFailed(f"not within {expect.within:g} s: {seen}")

    def expect_count(self, expect: Expect, count: int) -> tuple[str, dict[str, str]]:
        """Exactly `count` instances hold it at the end of `within`, and never more on the way."""
        deadline = time.monotonic() + expect.within
        while True:
            held, _ = self.holding(expect)
            if len(held) > count:
                raise StepFailed(
                    f"{len(held)} hold it, not {count}: {', '.join(str(s.get('id')) for s in held[:5])}"
                )
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        if len(held) != count:
            raise StepFailed(f"{len(held)} hold it after {expect.within:g} s, not {count}")
        links = self.found(expect, held)
        return f"exactly {count}: {', '.join(links) or 'none'}", links

    def found(self, expect: Expect, held: list[dict[str, Any]]) -> dict[str, str]:
        """Keep what `save` names from the first instance that held; links to every one."""
        for name, field_name in expect.save.items():
            if held:
                self.values[name] = str(held[0].get(field_name) or "")
        collection = PLURAL[expect.kind]
        return {str(s.get("id")): f"{self.target.url}/api/{collection}/{s.get('id')}" for s in held}


def _exists(project: Any, path: str, ref: str) -> bool:
    try:
        project.files.get(path, ref=ref)
    except gitlab.exceptions.GitlabGetError:
        return False
    return True


def play(
    scenario: Scenario,
    target: EmbeddedTarget,
    progress: Callable[[str], None] = lambda line: None,
    observer: Observer | None = None,
) -> ScenarioVerdict:
    """Bring the target up, play every step, run the checks, bring it down: the verdict."""
    began = time.monotonic()
    play_ = Play(scenario=scenario, target=target)
    verdicts: list[StepVerdict] = []
    failed = False
    try:
        target.up()
        play_.setup()
    except Exception as exc:  # any failure to start is the scenario's verdict
        detail = f"the target did not come up: {exc}"
        first, *rest = scenario.steps
        steps = (_verdict(first, "failed", 0.0, detail), *(_verdict(s, "skipped", 0.0, "") for s in rest))
        target.down()
        return ScenarioVerdict(name=scenario.name, title=scenario.title, status="failed",
                               seconds=time.monotonic() - began, steps=steps)  # fmt: skip
    try:
        for n, step in enumerate(scenario.steps, 1):
            if failed:
                verdicts.append(_verdict(step, "skipped", 0.0, ""))
                if observer is not None:
                    observer.finished(n, step, verdicts[-1])
                continue
            if observer is not None:
                observer.started(n, step)
            started = time.monotonic()
            try:
                said, links = play_.run(step)
                verdicts.append(_verdict(step, "passed", time.monotonic() - started, said, links))
            except (
                StepFailed,
                TargetError,
                gitlab.exceptions.GitlabError,
                httpx.HTTPError,
                ValueError,
            ) as exc:
                failed = True
                verdicts.append(_verdict(step, "failed", time.monotonic() - started, str(exc)))
            last = verdicts[-1]
            if observer is not None:
                observer.finished(n, step, last)
            progress(
                f"[{scenario.name}] {n}/{len(scenario.steps)} {step.id}: {last.status} ({last.seconds:.1f} s)"
            )
        found = checks.least_privilege(target)
    finally:
        if target.outlives:
            try:
                play_.restore()
            except (StepFailed, gitlab.exceptions.GitlabError, httpx.HTTPError) as exc:
                progress(f"[{scenario.name}] {exc}")
        target.down()
    return ScenarioVerdict(name=scenario.name, title=scenario.title, status=scenario_status(verdicts, found),
                           seconds=time.monotonic() - began, steps=tuple(verdicts), checks=tuple(found))  # fmt: skip


def _verdict(
    step: Step, status: str, seconds: float, detail: str, links: dict[str, str] | None = None
) -> StepVerdict:
    return StepVerdict(id=step.id, actor=step.actor, kind=step.kind, narration=step.narration,
                       status=status, seconds=round(seconds, 2), detail=detail, links=links or {})  # type: ignore[arg-type]  # fmt: skip
