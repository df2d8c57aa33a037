"""The pure parts, without a server: patches, selectors, quantities, image references, command lines."""

from __future__ import annotations

from typing import Any

import pytest

from fakes.kubernetes.errors import ApiError
from fakes.kubernetes.kubelet.envvars import command_line, expand
from fakes.kubernetes.kubelet.images import PullError, Reference
from fakes.kubernetes.meta import quantity
from fakes.kubernetes.patch import json_patch, merge_patch, strategic_merge
from fakes.kubernetes.selectors import from_label_selector, labels_match, parse_labels

POD: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}, "finalizers": ["a"]},
    "spec": {
        "containers": [
            {"name": "web", "image": "v1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80}], "args": ["x", "y"]},
            {"name": "side", "image": "s1"},
        ]
    },
}  # fmt: skip


def test_strategic_merge_uses_merge_keys_and_directives() -> None:
    patch = {
        "metadata": {"labels": {"app": None, "tier": "front"}, "finalizers": ["b"]},
        "spec": {"containers": [
            {"name": "web", "image": "v2", "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
             "args": ["z"], "ports": [{"containerPort": 81}]},
            {"name": "side", "$patch": "delete"},
        ], "$setElementOrder/containers": [{"name": "web"}]},
    }  # fmt: skip
    merged = strategic_merge(POD, patch)
    web = merged["spec"]["containers"]
    assert [c["name"] for c in web] == ["web"]
    assert web[0]["image"] == "v2" and web[0]["args"] == ["z"]
    assert web[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert web[0]["ports"] == [{"containerPort": 80}, {"containerPort": 81}]
    assert merged["metadata"] == {"labels": {"tier": "front"}, "finalizers": ["a", "b"]}
    assert POD["spec"]["containers"][0]["image"] == "v1"  # the input is left alone
    replaced = strategic_merge(
        POD, {"spec": {"containers": [{"name": "only", "image": "i"}, {"$patch": "replace"}]}}
    )
    assert replaced["spec"]["containers"] == [{"name": "only", "image": "i"}]


def test_merge_patch_and_json_patch() -> None:
    merged = merge_patch(POD, {"metadata": {"labels": None}, "spec": {"containers": []}})
    assert merged == {"metadata": {"finalizers": ["a"]}, "spec": {"containers": []}}
    ops = [
        {"op": "test", "path": "/spec/containers/0/image", "value": "v1"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "v3"},
        {"op": "add", "path": "/spec/containers/0/args/-", "value": "w"},
        {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/role"},
        {"op": "remove", "path": "/spec/containers/1"},
        {"op": "add", "path": "/metadata/annotations", "value": {"a~b/c": "1"}},
        {"op": "copy", "from": "/metadata/annotations/a~0b~1c", "path": "/metadata/labels/copied"},
    ]
    patched = json_patch(POD, ops)
    assert (
        patched["spec"]["containers"][0]["args"] == ["x", "y", "w"]
        and len(patched["spec"]["containers"]) == 1
    )
    assert patched["metadata"]["labels"] == {"role": "web", "copied": "1"}
    with pytest.raises(ApiError) as failed:
        json_patch(POD, [{"op": "test", "path": "/spec/containers/0/image", "value": "nope"}])
    assert failed.value.code == 422


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web,tier!=back", {"app": "web", "tier": "back"}, False),
        ("tier in (front, back)", {"tier": "back"}, True),
        ("tier notin (front)", {}, True),
        ("app,!legacy", {"app": "x"}, True),
        ("!app", {"app": "x"}, False),
        ("", {}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert labels_match(parse_labels(selector), {"metadata": {"labels": labels}}) is expected


def test_label_selector_objects_and_bad_syntax() -> None:
    selector = from_label_selector({"matchLabels": {"app": "web"},
                                    "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]})  # fmt: skip
    assert labels_match(selector, {"metadata": {"labels": {"app": "web", "tier": "front"}}})
    assert not labels_match(selector, {"metadata": {"labels": {"app": "web", "tier": "db"}}})
    with pytest.raises(ApiError) as bad:
        parse_labels("app in web")
    assert bad.value.code == 400


def test_quantities_references_and_command_lines() -> None:
    assert quantity("64Mi") == 64 * 2**20 and quantity("1G") == 1e9 and quantity("250m") == 0.25
    with pytest.raises(ValueError, match="quantities must match"):
        quantity("lots")
    ref = Reference.parse("127.0.0.1:5000/team/app:v1")
    assert (ref.host, ref.repository, ref.tag, ref.base_url) == (
        "127.0.0.1:5000",
        "team/app",
        "v1",
        "http://127.0.0.1:5000",
    )
    hub = Reference.parse("python")
    assert (hub.host, hub.repository, hub.tag, hub.base_url) == ("docker.io", "library/python", "latest",
                                                                 "https://registry-1.docker.io")  # fmt: skip
    pinned = Reference.parse("registry.example.com/app@sha256:" + "a" * 64)
    assert pinned.tag == "" and pinned.digest.startswith("sha256:")
    with pytest.raises(PullError):
        Reference.parse("UPPER/Case:1")
    config = {"Entrypoint": ["/entry"], "Cmd": ["--default"]}
    assert command_line({}, config, {}) == ["/entry", "--default"]
    assert command_line({"args": ["--mine"]}, config, {}) == ["/entry", "--mine"]
    assert command_line({"command": ["run"]}, config, {}) == ["run"]
    assert command_line({"command": ["echo", "$(NAME)", "$$(NAME)"]}, config, {"NAME": "x"}) == [
        "echo",
        "x",
        "$(NAME)",
    ]
    assert expand("$(MISSING)", {}) == "$(MISSING)"
