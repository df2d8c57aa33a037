"""Loading scenario files: the example of docs/scenarios.md, and one refusal per kind of mistake.

A refusal is one line, `PATH:LINE: FIELD-PATH: problem`, the line being the one the field is on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.scenarios.load import ScenarioError, load, load_dir
from appliance.scenarios.model import (
    Act,
    Commit,
    Edit,
    Expect,
    FieldCheck,
    Kill,
    Setup,
    Step,
    TemplateError,
    render,
    templates_in,
)

EXAMPLE = """\
name: missing-env                 # the file's stem; [a-z0-9][a-z0-9-]*
title: A missing env var crash-loops in preflight and the autopilot proposes the fix
tags: [autopilot, preflight]      # optional; `--only` selects by name or tag
setup:
  project: shop                   # the seeded project the scenario plays on (only `shop` today)
  autonomy: 1                     # optional: the project's level, 0..3
  environments: {production: 0}   # optional: per-environment levels, 0..3
steps:
  - id: break                     # unique in the scenario; [a-z0-9][a-z0-9-]*
    actor: developer              # who acts: see Actors
    narration: A developer tidies shop-api's Deployment and drops SHOP_DB_URL.
    why: Nothing but the cluster notices; the commit passes its own tests.   # optional
    commit:                       # exactly one of: commit, alert, fault, kill, act, expect
      repo: shop-api              # an app's source repo, `<app>-gitops`, or `meta`
      message: Tidy the Deployment's environment
      edits:
        - file: deploy/deployment.yaml
          replace: '^ *- name: SHOP_DB_URL\\n *value: .*\\n'   # a regex (multiline); must match
          with: ''
  - id: rejected
    actor: argocd
    narration: Argo CD reports the deploy Degraded; the artifact is rejected.
    expect:
      kind: artifact              # incident | changeset | artifact | preflight | lane
      id: 'art-shop-api-{sha12:break}'
      phase: rejected             # one phase, or a list of acceptable phases
      fields:                     # optional: state fields; a plain value must be equal,
        reason: {contains: deploy degraded}   # {contains: text}, {matches: regex}, {present: true|false}
      save: {incident: incident_id}           # optional: name -> state field, for later `{incident}`
      within: 300                 # seconds; default 300
"""

# Lines 1-3; steps then start on line 4.
HEAD = "name: s\ntitle: T\nsteps:\n"
KILL = "  - id: k\n    actor: cluster\n    narration: n\n    kill: {}\n"


def write(directory: Path, text: str, name: str = "s") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load(path)
    return str(caught.value).removeprefix(f"{path.parent}/")


def test_the_documented_example_loads_with_its_values(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE, "missing-env")
    scenario = load(path)
    assert (scenario.name, scenario.path, scenario.tags) == (
        "missing-env",
        str(path),
        ("autopilot", "preflight"),
    )
    assert scenario.title.startswith("A missing env var crash-loops")
    assert scenario.setup == Setup(project="shop", autonomy=1, environments={"production": 0})
    commit, expect = scenario.steps
    assert (commit.id, commit.actor, commit.kind) == ("break", "developer", "commit")
    assert commit.why == "Nothing but the cluster notices; the commit passes its own tests."
    assert commit.action == Commit(
        repo="shop-api",
        message="Tidy the Deployment's environment",
        edits=(
            Edit(file="deploy/deployment.yaml", replace="^ *- name: SHOP_DB_URL\\n *value: .*\\n", with_=""),
        ),
    )
    assert (expect.kind, expect.actor, expect.why) == ("expect", "argocd", "")
    assert expect.action == Expect(
        kind="artifact",
        id="art-shop-api-{sha12:break}",
        phase=("rejected",),
        fields={"reason": FieldCheck(contains="deploy degraded")},
        save={"incident": "incident_id"},
        within=300.0,
    )


def test_defaults_and_shorthands(tmp_path: Path) -> None:
    body = """\
  - id: k
    actor: cluster
    narration: n
    kill:
  - id: e
    actor: pathops
    narration: n
    expect:
      kind: incident
      id: inc-1
      phase: [open, diagnosing]
      fields:
        app: shop-api
        apps: [a, b]
        labels: {x: 1}
        pr: {present: false}
        sha: {matches: '^[0-9a-f]{12}$'}
  - id: a
    actor: owner
    narration: n
    act: {action: approve, target: inc-1}
"""
    scenario = load(write(tmp_path, HEAD + body))
    assert scenario.setup == Setup(project="shop", autonomy=None, environments={})
    kill, expect, act = scenario.steps
    assert kill.action == Kill(at=None, restart_after=1.0)
    assert expect.expect is not None
    assert expect.expect.phase == ("open", "diagnosing")
    assert expect.expect.fields == {
        "app": FieldCheck(equals="shop-api"),
        "apps": FieldCheck(equals=["a", "b"]),
        "labels": FieldCheck(equals={"x": 1}),
        "pr": FieldCheck(present=False),
        "sha": FieldCheck(matches="^[0-9a-f]{12}$"),
    }
    assert (expect.expect.within, expect.expect.never) == (300.0, False)
    assert act.action == Act(action="approve", target="inc-1", as_="owner", expect_status=None)


def test_load_dir_reads_yaml_files_sorted_by_name(tmp_path: Path) -> None:
    for name in ("zeta", "alpha", "mid"):
        write(tmp_path, f"name: {name}\ntitle: T\nsteps:\n{KILL}", name)
    (tmp_path / "notes.txt").write_text("not a scenario")
    assert [s.name for s in load_dir(tmp_path)] == ["alpha", "mid", "zeta"]


def test_a_step_without_an_action_has_no_kind() -> None:
    with pytest.raises(ValueError, match="step x has no action"):
        _ = Step(id="x", actor="cluster", narration="n").kind


STEP = "  - id: x\n    actor: {actor}\n    narration: n\n"


def step(body: str, actor: str = "developer", step_id: str = "x") -> str:
    return STEP.format(actor=actor).replace("id: x", f"id: {step_id}") + body


COMMIT = "    commit:\n      repo: shop-api\n      message: m\n      edits:\n"

REFUSALS = [
    pytest.param(
        "name: s\ntitle: T\nsteps: [\n",
        "s.yaml:4: $: invalid YAML: expected the node content, but found '<stream end>'",
        id="yaml-syntax",
    ),
    pytest.param("- just\n- a list\n", "s.yaml:1: $: expected a mapping, got a list", id="not-a-mapping"),
    pytest.param("", "s.yaml:1: $: expected a mapping, got an empty file", id="empty-file"),
    pytest.param(
        HEAD + KILL + "    colour: red\n", "s.yaml:8: steps[0].colour: unknown key", id="unknown-key"
    ),
    pytest.param(
        "name: s\npath: x\ntitle: T\nsteps:\n" + KILL, "s.yaml:2: path: unknown key", id="path-is-not-a-key"
    ),
    pytest.param(
        "name: s\ntitle: T\ntitle: U\nsteps:\n" + KILL, "s.yaml:3: title: duplicate key", id="duplicate-key"
    ),
    pytest.param(
        "name: s\ntitle: T\n1: x\nsteps:\n" + KILL,
        "s.yaml:3: 1: keys must be strings; YAML reads this one as int",
        id="non-string-key",
    ),
    pytest.param("name: s\nsteps:\n" + KILL, "s.yaml:1: title: missing required key", id="missing-key"),
    pytest.param(
        HEAD + step(COMMIT + "        - {file: a, content: c}\n").replace("message: m", "message: 3"),
        "s.yaml:9: steps[0].commit.message: expected a string, got an integer",
        id="wrong-type",
    ),
    pytest.param(
        HEAD
        + step("    alert:\n      labels:\n        alertname: Down\n        code: 500\n", "alertmanager"),
        "s.yaml:10: steps[0].alert.labels.code: expected a string, got an integer",
        id="wrong-type-in-a-map",
    ),
    pytest.param(
        HEAD + step("    kill: {restart_after: soon}\n", "cluster"),
        "s.yaml:7: steps[0].kill.restart_after: expected a number, got a string",
        id="wrong-type-number",
    ),
    pytest.param(
        HEAD + step("    expect:\n      kind: incident\n      id: i\n      phase: {a: b}\n", "pathops"),
        "s.yaml:10: steps[0].expect.phase: expected a string or a list of strings",
        id="phase-type",
    ),
    pytest.param(
        HEAD
        + step(
            "    expect:\n      kind: incident\n      id: i\n"
            "      fields:\n        r: {contains: a, matches: b}\n",
            "pathops",
        ),
        "s.yaml:11: steps[0].expect.fields.r: a check has exactly one key of contains, matches, present; "
        "got contains, matches",
        id="check-with-two-keys",
    ),
    pytest.param(
        HEAD
        + step(
            "    expect:\n      kind: incident\n      id: i\n      fields:\n        r: {contains: 3}\n",
            "pathops",
        ),
        "s.yaml:11: steps[0].expect.fields.r.contains: expected a string or null, got an integer",
        id="check-wrong-type",
    ),
    pytest.param(
        "name: other\ntitle: T\nsteps:\n" + KILL,
        "s.yaml:1: name: `other` is not the file's stem `s`",
        id="name-not-stem",
    ),
    pytest.param(
        "name: Bad_Name\ntitle: T\nsteps:\n" + KILL,
        "Bad_Name.yaml:1: name: `Bad_Name` does not match [a-z0-9][a-z0-9-]*",
        id="name-pattern",
    ),
    pytest.param(
        HEAD + KILL + KILL,
        "s.yaml:8: steps[1].id: duplicate step id `k` (steps[0] has it)",
        id="duplicate-step-id",
    ),
    pytest.param(
        HEAD + step("    kill: {}\n", "cluster", "Big"),
        "s.yaml:4: steps[0].id: `Big` does not match [a-z0-9][a-z0-9-]*",
        id="step-id-pattern",
    ),
    pytest.param(
        HEAD + step("    why: w\n"),
        "s.yaml:4: steps[0]: no step kind; expected exactly one of commit, alert, fault, kill, act, expect",
        id="no-step-kind",
    ),
    pytest.param(
        HEAD + step("    kill: {}\n    act: {action: approve, target: t}\n", "owner"),
        "s.yaml:8: steps[0].act: more than one step kind (kill, act); expected exactly one",
        id="two-step-kinds",
    ),
    pytest.param(
        HEAD + step("    kill: {}\n", "robot"),
        "s.yaml:5: steps[0].actor: unknown actor `robot`; "
        "expected one of developer, owner, reviewer, alertmanager, pathops, jenkins, "
        "gitlab, argocd, harbor, minio, agents, cluster",
        id="unknown-actor",
    ),
    pytest.param(
        HEAD + step("    expect: {kind: deploy, id: i}\n", "pathops"),
        "s.yaml:7: steps[0].expect.kind: unknown kind `deploy`; "
        "expected one of incident, changeset, artifact, preflight, lane",
        id="unknown-expect-kind",
    ),
    pytest.param(
        HEAD + step("    fault:\n      system: vault\n      fault: slow\n", "cluster"),
        "s.yaml:8: steps[0].fault.system: unknown system `vault`; "
        "expected one of gitlab, jenkins, argocd, harbor, s3, kubernetes, pathops",
        id="unknown-system",
    ),
    pytest.param(
        HEAD + step("    fault:\n      system: gitlab\n      fault: flaky\n", "cluster"),
        "s.yaml:9: steps[0].fault.fault: unknown fault `flaky`; "
        "expected one of unavailable, slow, error, lose-callback, duplicate-callback",
        id="unknown-fault",
    ),
    pytest.param(
        HEAD
        + step(
            "    fault:\n      system: jenkins\n      fault: lose-callback\n      job: build\n", "cluster"
        ),
        "s.yaml:9: steps[0].fault.fault: `lose-callback` needs `system: pathops` and a `job`",
        id="callback-fault-off-pathops",
    ),
    pytest.param(
        HEAD + step("    fault: {system: pathops, fault: duplicate-callback}\n", "cluster"),
        "s.yaml:7: steps[0].fault.fault: `duplicate-callback` needs `system: pathops` and a `job`",
        id="callback-fault-without-job",
    ),
    pytest.param(
        HEAD + step("    fault:\n      system: s3\n      fault: slow\n      rate: 2\n", "cluster"),
        "s.yaml:10: steps[0].fault.rate: expected a rate 0..1, got 2",
        id="fault-rate",
    ),
    pytest.param(
        HEAD + step("    expect: {kind: incident, id: 'inc-*', count: 1, never: true}\n", "pathops"),
        "s.yaml:7: steps[0].expect.count: expected a count >= 0, and not with `never`",
        id="count-with-never",
    ),
    pytest.param(
        "name: s\ntitle: T\nsetup:\n  settings: {evidence_timeout: 20}\nsteps:\n" + KILL,
        "s.yaml:4: setup.settings.evidence_timeout: unknown setting `evidence_timeout`; "
        "expected one of evidence_timeout_s, fix_timeout_s, mr_timeout_s, max_attempts",
        id="unknown-setting",
    ),
    pytest.param(
        HEAD + step("    act:\n      action: deploy\n      target: t\n", "owner"),
        "s.yaml:8: steps[0].act.action: unknown action `deploy`; "
        "expected one of approve, reject, promote, retry, close, merge, feature",
        id="unknown-action",
    ),
    pytest.param(
        HEAD + step("    act:\n      action: approve\n      target: t\n      as: admin\n", "owner"),
        "s.yaml:10: steps[0].act.as: unknown role `admin`; expected one of owner, reviewer, viewer",
        id="unknown-role",
    ),
    pytest.param(
        HEAD
        + step(COMMIT + "        - {file: a, content: c}\n")
        + step("    expect:\n      kind: artifact\n      id: 'art-{sha12:y}'\n", "argocd", "y"),
        "s.yaml:17: steps[1].expect.id: template names step `y`, which is not an earlier commit step",
        id="sha-template-self",
    ),
    pytest.param(
        HEAD
        + step("    expect:\n      kind: artifact\n      id: 'art-{sha:later}'\n", "argocd")
        + step(COMMIT + "        - {file: a, content: c}\n", step_id="later"),
        "s.yaml:9: steps[0].expect.id: template names step `later`, which is not an earlier commit step",
        id="sha-template-later",
    ),
    pytest.param(
        HEAD + KILL + step("    act: {action: close, target: '{sha:k}'}\n", "owner"),
        "s.yaml:11: steps[1].act.target: template names step `k`, which is not an earlier commit step",
        id="sha-template-not-a-commit",
    ),
    pytest.param(
        HEAD
        + step("    expect:\n      kind: incident\n      id: i\n      save: {incident: id}\n", "pathops")
        + step("    act:\n      action: close\n      target: '{incidnet}'\n", "owner", "y"),
        "s.yaml:16: steps[1].act.target: template {incidnet} is not saved by an earlier expect",
        id="name-template-unsaved",
    ),
    pytest.param(
        HEAD
        + step("    expect:\n      kind: incident\n      id: i\n      save: {Incident-Id: id}\n", "pathops"),
        "s.yaml:10: steps[0].expect.save.Incident-Id: `Incident-Id` is not a template name [a-z_][a-z0-9_]*",
        id="save-name-pattern",
    ),
    pytest.param(
        HEAD + step(COMMIT + "        - file: a\n          content: c\n          delete: true\n"),
        "s.yaml:13: "
        "steps[0].commit.edits[0].delete: expected exactly one of replace, content, delete: true; "
        "got content, delete",
        id="edit-two-ways",
    ),
    pytest.param(
        HEAD + step(COMMIT + "        - file: a\n          with: b\n"),
        "s.yaml:11: steps[0].commit.edits[0]: expected exactly one of replace, content, delete: true",
        id="edit-no-way",
    ),
    pytest.param(
        HEAD + step(COMMIT + "        - file: a\n          replace: '[a-'\n"),
        "s.yaml:12: "
        "steps[0].commit.edits[0].replace: invalid regex: unterminated character set at position 0",
        id="edit-bad-regex",
    ),
    pytest.param(
        HEAD
        + step(
            "    expect:\n      kind: incident\n      id: i\n      fields:\n        r: {matches: 'a(b'}\n",
            "pathops",
        ),
        "s.yaml:11: "
        "steps[0].expect.fields.r.matches: invalid regex: missing ), unterminated subpattern at position 1",
        id="check-bad-regex",
    ),
    pytest.param(
        "name: s\ntitle: T\nsetup:\n  autonomy: 4\nsteps:\n" + KILL,
        "s.yaml:4: setup.autonomy: expected a level 0..3, got 4",
        id="autonomy-range",
    ),
    pytest.param(
        "name: s\ntitle: T\nsetup:\n  environments:\n    production: -1\nsteps:\n" + KILL,
        "s.yaml:5: setup.environments.production: expected a level 0..3, got -1",
        id="environment-level-range",
    ),
    pytest.param(
        HEAD + step("    expect:\n      kind: incident\n      id: i\n      within: 0\n", "pathops"),
        "s.yaml:10: steps[0].expect.within: expected seconds > 0, got 0",
        id="within-not-positive",
    ),
    pytest.param(
        "name: s\ntitle: T\nsteps: []\n", "s.yaml:3: steps: expected at least one step", id="no-steps"
    ),
]


@pytest.mark.parametrize(("text", "expected"), REFUSALS)
def test_a_scenario_that_does_not_load_is_refused_with_one_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    name = expected.partition(".yaml")[0]
    assert refusal(write(tmp_path, text, name)) == expected


def test_the_documented_example_error(tmp_path: Path) -> None:
    text = EXAMPLE.replace("phase: rejected ", "phase: {any: 1} ")
    assert refusal(write(tmp_path, text, "missing-env")) == (
        "missing-env.yaml:26: steps[1].expect.phase: expected a string or a list of strings"
    )


def test_a_missing_file_is_refused_too(tmp_path: Path) -> None:
    assert refusal(tmp_path / "gone.yaml").startswith("gone.yaml:1: $: cannot read the file: ")


def test_the_error_carries_its_parts(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + step("    kill: {}\n", "robot"))
    with pytest.raises(ScenarioError) as caught:
        load(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), 5, "steps[0].actor")


def test_render_fills_shas_and_saved_values() -> None:
    values = {"sha:break": "0123456789abcdef0123", "incident": "inc-7"}
    assert render("art-{sha12:break} {sha:break} for {incident}", values) == (
        "art-0123456789ab 0123456789abcdef0123 for inc-7"
    )


def test_render_leaves_regex_braces_alone() -> None:
    pattern = r"^\d{2,3}-[a-z]{4} {x{ {Upper} {}"
    assert render(pattern, {}) == pattern
    assert templates_in(pattern) == set()


def test_render_fills_a_known_key_that_is_no_identifier() -> None:
    assert render("{odd-key}", {"odd-key": "v"}) == "v"


def test_an_unknown_template_is_named() -> None:
    with pytest.raises(TemplateError, match=r"unknown template \{sha12:fix\}") as caught:
        render("art-{sha12:fix}", {"sha:break": "abc"})
    assert caught.value.template == "{sha12:fix}"
    with pytest.raises(TemplateError, match=r"unknown template \{incident\}"):
        render("{incident}", {})


def test_templates_in_names_the_keys_looked_up() -> None:
    assert templates_in("{sha12:break}/{sha:fix}/{incident}/{2,3}") == {"sha:break", "sha:fix", "incident"}


@pytest.mark.parametrize(
    ("check", "value", "holds"),
    [
        (FieldCheck(equals="x"), "x", True),
        (FieldCheck(equals="x"), "y", False),
        (FieldCheck(equals=None), None, True),
        (FieldCheck(equals=[1, 2]), [1, 2], True),
        (FieldCheck(contains="degraded"), "deploy degraded: crash", True),
        (FieldCheck(contains="degraded"), "healthy", False),
        (FieldCheck(contains="a"), ["a", "b"], True),
        (FieldCheck(contains="a"), ["ab"], False),
        (FieldCheck(contains="1"), 1, False),
        (FieldCheck(matches=r"^[0-9a-f]{12}$"), "0123456789ab", True),
        (FieldCheck(matches=r"^[0-9a-f]{12}$"), "0123", False),
        (FieldCheck(matches="x"), None, False),
        (FieldCheck(present=True), "", True),
        (FieldCheck(present=True), None, False),
        (FieldCheck(present=False), None, True),
    ],
)
def test_field_checks(check: FieldCheck, value: object, holds: bool) -> None:
    assert check.holds(value) is holds
