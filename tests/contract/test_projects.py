"""Projects from their meta description: YAML as the meta repo holds it, or JSON."""

from __future__ import annotations

from pathlib import Path

import yaml

SEED = (Path(__file__).parents[2] / "appliance" / "seed" / "shop.yaml").read_text()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_import_yaml_then_read_apps_components_environments(client, owner_token) -> None:
    loaded = await client.post("/api/projects/import", content=SEED, headers=bearer(owner_token))
    assert loaded.status_code == 201, loaded.text
    apps = (await client.get("/api/projects/shop/apps", headers=bearer(owner_token))).json()
    assert [(a["name"], a["depends_on"]) for a in apps] == [
        ("shop-api", ["postgres"]),
        ("shop-frontend", ["shop-api"]),
    ]
    components = (await client.get("/api/projects/shop/components", headers=bearer(owner_token))).json()
    assert components == [{"name": "postgres", "kind": "postgres"}]
    envs = (await client.get("/api/projects/shop/environments", headers=bearer(owner_token))).json()
    assert [e["name"] for e in envs] == ["agents", "preflight", "production"]


async def test_json_load_of_the_same_shape(client, owner_token) -> None:
    meta = yaml.safe_load(SEED) | {"name": "shop2"}
    loaded = await client.post("/api/projects", json=meta, headers=bearer(owner_token))
    assert loaded.status_code == 201, loaded.text
    names = [p["name"] for p in (await client.get("/api/projects", headers=bearer(owner_token))).json()]
    assert names == ["shop2"]


async def test_a_dependency_cycle_is_a_clear_422(client, owner_token) -> None:
    meta = yaml.safe_load(SEED)
    meta["apps"][0]["depends_on"] = ["shop-frontend"]
    response = await client.post(
        "/api/projects/import", content=yaml.safe_dump(meta), headers=bearer(owner_token)
    )
    assert response.status_code == 422
    assert "cycle" in response.json()["detail"]
    assert "shop-api" in response.json()["detail"]


async def test_bad_yaml_and_unknown_dependencies_name_the_problem(client, owner_token) -> None:
    broken = await client.post("/api/projects/import", content="name: [unclosed", headers=bearer(owner_token))
    assert broken.status_code == 422
    assert "not valid YAML" in broken.json()["detail"]
    meta = yaml.safe_load(SEED)
    meta["apps"][1]["depends_on"] = ["redis"]
    unknown = await client.post(
        "/api/projects/import", content=yaml.safe_dump(meta), headers=bearer(owner_token)
    )
    assert unknown.json()["detail"] == "request body: app 'shop-frontend' depends on unknown 'redis'"
    wrong_type = await client.post(
        "/api/projects/import", content="name: shop\napps: 3\n", headers=bearer(owner_token)
    )
    assert wrong_type.status_code == 422
    assert "apps" in wrong_type.json()["detail"]
    missing = await client.get("/api/projects/nope", headers=bearer(owner_token))
    assert (missing.status_code, missing.json()["detail"]) == (404, "no project 'nope'")
