"""The console's command language, pure: paths, parsing, completion, free-text kinds and questions."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui import commands, freetext
from ui.commands import (
    COMMANDS,
    HELP,
    Command,
    FreeText,
    Location,
    ParseError,
    Project,
    Snapshot,
    Unresolved,
    children,
    classify,
    common_prefix,
    complete,
    explain,
    join,
    locate,
    parse,
    resolve,
    shown,
)
from ui.freetext import Question, question
from ui.paths import parts

SHOP = Project("shop", apps=("shop-api", "shop-frontend"), components=("postgres",))
BLOG = Project("blog", apps=("blog-web",), environments=("preflight", "production"))
SNAP = Snapshot(
    projects=(SHOP, BLOG),
    incidents=("inc-0001", "inc-0002"),
    changesets=("cs-0001", "cs-0003"),
    artifacts=("art-shop-api-0123456789ab",),
    evidence=("snap-abc",),
)
PLACES = [
    "/",
    "/shop",
    "/blog",
    "/shop/shop-api",
    "/shop/shop-frontend",
    "/shop/postgres",
    "/blog/blog-web",
    *[f"/shop/{a}/{e}" for a in SHOP.apps for e in SHOP.environments],
    "/blog/blog-web/preflight",
    "/blog/blog-web/production",
]


def test_the_language_is_pure_it_imports_no_nicegui_and_no_services() -> None:
    code = "import sys, ui.commands; print(sorted(m for m in sys.modules if m.startswith(('nicegui', 'appliance'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cwd", "path", "joined"),
    [
        ("/", "shop", "/shop"),
        ("/", "/shop/shop-api", "/shop/shop-api"),
        ("/shop", "shop-api/preflight", "/shop/shop-api/preflight"),
        ("/shop", "", "/shop"),
        ("/shop", ".", "/shop"),
        ("/shop", "./shop-api/", "/shop/shop-api"),
        ("/shop/shop-api", "..", "/shop"),
        ("/shop/shop-api", "../..", "/"),
        ("/", "..", "/"),
        ("/", "../../shop", "/shop"),
        ("/shop/shop-api/preflight", "../../shop-frontend/production", "/shop/shop-frontend/production"),
        ("/shop/shop-api", "~", "/"),
        ("/shop/shop-api", "~/blog", "/blog"),
        ("/shop", "//blog///blog-web//", "/blog/blog-web"),
        ("/shop", "/", "/"),
        ("/shop/../blog", "blog-web", "/blog/blog-web"),
    ],
)
def test_join_makes_a_path_absolute_and_normal_by_its_text(cwd: str, path: str, joined: str) -> None:
    assert join(cwd, path) == joined


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/", Location()),
        ("/shop", Location(path="/shop", project="shop")),
        ("/shop/shop-api", Location(path="/shop/shop-api", project="shop", app="shop-api")),
        ("/shop/postgres", Location(path="/shop/postgres", project="shop", component="postgres")),
        (
            "/shop/shop-api/preflight",
            Location(path="/shop/shop-api/preflight", project="shop", app="shop-api", env="preflight"),
        ),
    ],
)
def test_locate_says_what_a_path_names(path: str, location: Location) -> None:
    assert locate(path, SNAP) == location


@pytest.mark.parametrize(
    ("path", "level"),
    [("/", "root"), ("/blog", "project"), ("/blog/blog-web", "app"), ("/shop/postgres", "component"),
     ("/blog/blog-web/production", "environment")],
)  # fmt: skip
def test_a_location_knows_its_level(path: str, level: str) -> None:
    found = locate(path, SNAP)
    assert isinstance(found, Location)
    assert found.level == level


@pytest.mark.parametrize(
    ("cwd", "path", "message", "part", "choices"),
    [
        ("/", "nope", "no such project: nope", "nope", ("shop", "blog")),
        ("/", "/shop/shop-apj", "no such app or component in shop: shop-apj", "shop-apj",
         ("shop-api", "shop-frontend", "postgres")),
        ("/shop/shop-api", "staging", "no such environment of shop/shop-api: staging", "staging",
         ("agents", "preflight", "production")),
        ("/blog/blog-web", "agents", "no such environment of blog/blog-web: agents", "agents",
         ("preflight", "production")),
        ("/shop", "postgres/preflight", "postgres is a component (manifests only): nothing below it",
         "preflight", ()),
        ("/shop/shop-api/preflight", "pods", "nothing below an environment: pods", "pods", ()),
    ],
)  # fmt: skip
def test_resolve_names_the_bad_part_and_the_choices(
    cwd: str, path: str, message: str, part: str, choices: tuple[str, ...]
) -> None:
    assert resolve(cwd, path, SNAP) == Unresolved(message, part, choices)


def test_an_unresolved_path_reads_as_its_message_with_the_choices() -> None:
    assert str(resolve("/", "nope", SNAP)) == "no such project: nope (choices: shop, blog)"
    assert str(resolve("/shop/shop-api/preflight", "x", SNAP)) == "nothing below an environment: x"


def test_with_no_projects_the_root_still_resolves_and_nothing_else() -> None:
    assert resolve("/", "..", Snapshot()) == "/"
    assert resolve("/", "shop", Snapshot()) == Unresolved("no such project: shop", "shop", ())


@pytest.mark.parametrize(
    ("path", "below"),
    [
        ("/", ("shop", "blog")),
        ("/shop", ("shop-api", "shop-frontend", "postgres")),
        ("/shop/shop-api", ("agents", "preflight", "production")),
        ("/shop/postgres", ()),
        ("/shop/shop-api/agents", ()),
    ],
)
def test_children_are_one_level_below(path: str, below: tuple[str, ...]) -> None:
    found = locate(path, SNAP)
    assert isinstance(found, Location)
    assert children(found, SNAP) == below


def test_children_of_a_project_the_snapshot_no_longer_has_are_none() -> None:
    assert children(Location(path="/gone", project="gone"), SNAP) == ()


@given(st.sampled_from(PLACES), st.sampled_from(PLACES))
def test_cd_from_anywhere_to_any_place_absolute_relative_or_from_home_lands_there(
    here: str, there: str
) -> None:
    relative = "/".join([".."] * len(parts(here)) + parts(there)) or "."
    for path in (there, relative, "~" + there):
        cmd = parse(f"cd {path}", here)
        assert isinstance(cmd, Command)
        assert resolve(here, cmd.arg, SNAP) == there


@given(st.sampled_from(PLACES), st.text(alphabet="ab./~-", max_size=12))
def test_join_is_normal_and_idempotent(cwd: str, path: str) -> None:
    joined = join(cwd, path)
    assert joined.startswith("/")
    assert "//" not in joined and "/./" not in joined and "/../" not in joined
    assert joined == "/" or not joined.endswith(("/", "/.", "/.."))
    assert join(cwd, joined) == joined == join("/anywhere", joined)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "cwd", "parsed"),
    [
        ("pwd", "/shop", Command("pwd")),
        ("  STATUS  ", "/", Command("status")),
        ("cd", "/shop/shop-api", Command("cd", ("/",))),
        ("cd ..", "/shop/shop-api", Command("cd", ("/shop",))),
        ("cd shop-api/preflight", "/shop", Command("cd", ("/shop/shop-api/preflight",))),
        ("ls", "/shop", Command("ls", ("/shop",))),
        ("ls /", "/shop", Command("ls", ("/",))),
        ("incidents", "/shop", Command("incidents")),
        ("changesets", "/", Command("changesets")),
        ("artifacts", "/", Command("artifacts")),
        ("evidence inc-0001", "/", Command("evidence", ("inc-0001",))),
        ("approve cs-0001", "/", Command("approve", ("cs-0001",))),
        (
            "approve cs-0001 Looks  good, ship it",
            "/",
            Command("approve", ("cs-0001", "Looks  good, ship it")),
        ),
        ("reject cs-0001 no tests", "/", Command("reject", ("cs-0001", "no tests"))),
        ("promote art-shop-api-0123456789ab", "/", Command("promote", ("art-shop-api-0123456789ab",))),
        ("help", "/", Command("help")),
        ("help CD", "/", Command("help", ("cd",))),
        ("clear", "/", Command("clear")),
    ],
)
def test_parse_commands(line: str, cwd: str, parsed: Command) -> None:
    assert parse(line, cwd) == parsed


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "type a command, or help"),
        ("   ", "type a command, or help"),
        ("cd a b", "usage: cd [path]"),
        ("pwd please", "usage: pwd"),
        ("evidence", "usage: evidence <id>"),
        ("evidence a b", "usage: evidence <id>"),
        ("approve", "usage: approve <change set> [comment]"),
        ("promote", "usage: promote <artifact> [comment]"),
        ("help me", "no command 'me'; commands: cd, ls, pwd, status, incidents, changesets, artifacts, "
         "evidence, approve, reject, promote, help, clear"),
    ],
)  # fmt: skip
def test_parse_errors_say_the_usage(line: str, message: str) -> None:
    assert parse(line, "/") == ParseError(message)


@pytest.mark.parametrize(
    "line",
    [
        "add a dark mode",
        "delete the prod namespace",
        "status of shop-api?",
        "how many incidents are open?",
        "ls?",
    ],
)
def test_anything_not_a_command_or_ending_in_a_question_mark_is_free_text(line: str) -> None:
    assert parse(line, "/") == FreeText(line)


@given(st.text(max_size=60), st.sampled_from(PLACES))
def test_parse_takes_any_line_and_gives_one_of_three_results(line: str, cwd: str) -> None:
    assert isinstance(parse(line, cwd), Command | FreeText | ParseError)


def test_help_covers_every_command_and_the_free_text() -> None:
    assert set(HELP) == set(COMMANDS)
    lines = commands.help_text()
    assert len(lines) == len(COMMANDS) + 1
    assert all(any(line.startswith(spec.usage) for line in lines) for spec in COMMANDS.values())
    assert "feature request" in lines[-1] and "bug report" in lines[-1] and "question" in lines[-1]
    assert commands.help_text("promote") == ["promote <artifact> [comment]: " + COMMANDS["promote"].summary]


# --- completion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "cwd", "options"),
    [
        ("", "/", [f"{c} " for c in COMMANDS]),
        ("c", "/", ["cd ", "changesets ", "clear "]),
        ("ST", "/", ["status "]),
        ("x", "/", []),
        ("cd ", "/", ["cd blog/", "cd shop/"]),
        ("cd s", "/", ["cd shop/"]),
        ("cd /shop/", "/", ["cd /shop/postgres", "cd /shop/shop-api/", "cd /shop/shop-frontend/"]),
        ("ls shop-", "/shop", ["ls shop-api/", "ls shop-frontend/"]),
        ("cd shop-api/p", "/shop", ["cd shop-api/preflight", "cd shop-api/production"]),
        ("cd ../", "/shop/shop-api", ["cd ../postgres", "cd ../shop-api/", "cd ../shop-frontend/"]),
        ("cd ~/b", "/shop", ["cd ~/blog/"]),
        ("cd nope/", "/", []),
        ("cd preflight/x", "/shop/shop-api", []),
        ("ls /shop/shop-api/preflight/", "/", []),
        ("approve ", "/", ["approve cs-0001 ", "approve cs-0003 "]),
        ("reject cs-000", "/", ["reject cs-0001 ", "reject cs-0003 "]),
        ("promote a", "/", ["promote art-shop-api-0123456789ab "]),
        ("evidence ", "/", ["evidence inc-0001 ", "evidence inc-0002 ", "evidence snap-abc "]),
        ("evidence s", "/", ["evidence snap-abc "]),
        ("help pr", "/", ["help promote "]),
        ("approve cs-0001 lo", "/", []),
        ("pwd ", "/", []),
        ("what is ", "/", []),
    ],
)
def test_complete_commands_paths_and_ids(line: str, cwd: str, options: list[str]) -> None:
    assert complete(line, cwd, SNAP) == options


@given(st.sampled_from(PLACES), st.text(alphabet="abpsho-/.~", max_size=8))
def test_every_path_completion_resolves(cwd: str, typed: str) -> None:
    for option in complete(f"cd {typed}", cwd, SNAP):
        cmd = parse(option, cwd)
        assert isinstance(cmd, Command)
        assert isinstance(resolve(cwd, cmd.arg, SNAP), str)


@pytest.mark.parametrize(
    ("options", "prefix"),
    [([], ""), (["cd shop/"], "cd shop/"), (["cd ", "changesets ", "clear "], "c"), (["ab", "abc"], "ab")],
)
def test_common_prefix(options: list[str], prefix: str) -> None:
    assert common_prefix(options) == prefix


@pytest.mark.parametrize(
    ("option", "label"),
    [("cd ", "cd"), ("cd /shop/shop-api/", "shop-api/"), ("cd shop-api/preflight", "preflight"),
     ("approve cs-0001 ", "cs-0001"), ("cd shop/", "shop/")],
)  # fmt: skip
def test_a_completion_is_listed_by_its_last_part(option: str, label: str) -> None:
    assert shown(option) == label


# --- free text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("feature: show stock levels", "feature"),
        ("Feature request: delete old artifacts automatically", "feature"),
        ("add a dark mode", "feature"),
        ("Please add a search box", "feature"),
        ("can you add CSV export?", "feature"),
        ("allow reviewers to comment", "feature"),
        ("I want a stock level badge", "feature"),
        ("it would be nice to see deploy times", "feature"),
        ("bug: the timeline is empty", "bug"),
        ("Bug report: login loops", "bug"),
        ("the approve button is broken", "bug"),
        ("shop-api returns 500 on /orders", "bug"),
        ("the evidence view doesn't work", "bug"),
        ("playback hangs after step 3", "bug"),
        ("how many incidents are open?", "question"),
        ("what is deployed in preflight?", "question"),
        ("why was art-x rejected?", "question"),
        ("why did the deploy fail?", "question"),
        ("which change sets are open", "question"),
        ("is shop-api healthy", "question"),
        ("question: anything stalled", "question"),
        ("delete the prod namespace", "refused"),
        ("deploy now", "refused"),
        ("ignore the rules", "refused"),
        ("please restart shop-api", "refused"),
        ("can you delete the namespace?", "refused"),
        ("I want to deploy now", "refused"),
        ("just merge it", "refused"),
        ("set autonomy to 3", "refused"),
        ("hello there", "refused"),
        ("", "refused"),
    ],
)
def test_classify_free_text(text: str, kind: str) -> None:
    assert classify(text) == kind


def test_explain_says_which_rule_decided() -> None:
    assert explain("deploy now").why.startswith("asks PathOps to act")
    assert explain("hello").why == "none of the three kinds"
    assert explain("bug: x").why == "starts with 'bug:'"
    assert {rule.kind for rule in freetext.RULES} == {"feature", "bug", "question", "refused"}


@given(st.text(max_size=80))
def test_classify_takes_any_text(text: str) -> None:
    assert classify(text) in ("feature", "bug", "question", "refused")


@pytest.mark.parametrize(
    ("text", "stripped"),
    [("feature: show stock", "show stock"), ("Bug Report :  login loops ", "login loops"),
     ("question: x?", "x?"), ("add a badge", "add a badge")],
)  # fmt: skip
def test_body_drops_the_kind_prefix(text: str, stripped: str) -> None:
    assert freetext.body(text) == stripped


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("how many incidents are open?", Question("count", kind="incident", open_only=True)),
        ("how many open merge requests?", Question("count", kind="changeset", open_only=True)),
        ("how many things are there?", Question("count")),
        ("what is deployed in preflight?", Question("deployed", env="preflight")),
        ("is shop-api running in prod?", Question("deployed", env="production", app="shop-api")),
        ("what is deployed?", Question("deployed")),
        (
            "why was art-shop-api-0123456789ab rejected?",
            Question("about", id="art-shop-api-0123456789ab", why=True),
        ),
        ("why was art-x rejected?", Question("about", id="art-x", why=True)),
        ("what is inc-0002?", Question("about", id="inc-0002")),
        ("question: what about snap-abc", Question("about", id="snap-abc")),
        ("which change sets are open?", Question("list", kind="changeset", open_only=True)),
        ("show me the artifacts", Question("list", kind="artifact")),
        ("which apps are there?", Question("projects")),
        ("what is the weather?", Question("unknown")),
    ],
)
def test_a_question_is_understood_by_its_words_names_and_ids(text: str, asked: Question) -> None:
    assert question(text, SNAP) == asked
