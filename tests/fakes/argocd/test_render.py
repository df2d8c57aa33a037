"""Rendering plain YAML and Kustomize overlays, as Argo CD does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fakes.argocd.render import RenderError, render

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "shop-api", "labels": {"app": "shop-api"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "shop-api"}},
        "template": {
            "metadata": {"labels": {"app": "shop-api"}},
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "registry.test:5000/shop/shop-api:v1",
                        "env": [{"name": "A", "value": "1"}],
                    }
                ]
            },
        },
    },
}


def write(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(doc) if isinstance(doc, list) else yaml.safe_dump(doc))


def test_plain_manifests_in_a_directory(tmp_path: Path) -> None:
    write(
        tmp_path / "app" / "deploy.yaml",
        [
            DEPLOYMENT,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}},
        ],
    )
    assert [o["kind"] for o in render(tmp_path / "app")] == ["Deployment", "ConfigMap"]


def test_kustomize_overlay_patches_images_namespace_and_labels(tmp_path: Path) -> None:
    write(tmp_path / "base" / "deploy.yaml", DEPLOYMENT)
    write(tmp_path / "base" / "kustomization.yaml", {"resources": ["deploy.yaml"]})
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop-api"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "api", "env": [{"name": "DATABASE_URL", "value": "postgres://db"}]}
                    ]
                }
            }
        },
    }
    write(tmp_path / "overlays" / "preflight" / "env.yaml", patch)
    write(
        tmp_path / "overlays" / "preflight" / "kustomization.yaml",
        {
            "resources": ["../../base"],
            "namespace": "shop-api-preflight",
            "patches": [{"path": "env.yaml"}],
            "images": [{"name": "registry.test:5000/shop/shop-api", "newTag": "v2"}],
            "commonLabels": {"env": "preflight"},
            "replicas": [{"name": "shop-api", "count": 2}],
        },
    )
    [obj] = render(tmp_path / "overlays" / "preflight")
    assert obj["metadata"]["namespace"] == "shop-api-preflight"
    assert obj["metadata"]["labels"] == {"app": "shop-api", "env": "preflight"}
    assert obj["spec"]["template"]["metadata"]["labels"]["env"] == "preflight"
    assert obj["spec"]["replicas"] == 2
    [container] = obj["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.test:5000/shop/shop-api:v2"
    assert container["env"] == [
        {"name": "A", "value": "1"},
        {"name": "DATABASE_URL", "value": "postgres://db"},
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"k/kustomization.yaml": {"resources": ["missing.yaml"]}}, "resource 'missing.yaml' not found"),
        ({"k/bad.yaml": {"kind": "Deployment"}}, "needs apiVersion and kind"),
        ({"k/x.yaml": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}}, "has no metadata.name"),
    ],
)
def test_broken_manifests_are_a_clear_error(tmp_path: Path, files: dict[str, object], message: str) -> None:
    for name, doc in files.items():
        write(tmp_path / name, doc)
    with pytest.raises(RenderError, match=message):
        render(tmp_path / "k")


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="does not exist"):
        render(tmp_path / "nope")
