"""A project's seed content on disk (`appliance/seed/<project>/`) and how it becomes repositories.

    meta/            -> <project>/<project>-meta     project.yaml, contracts/, incidents/
    <app>/           -> <project>/<app>              the app's code, ci/, deploy/, .env.example
    gitops/<app>/    -> <project>/<app>-gitops       preflight/ and production/ (params.yaml with the
                                                     placeholder ${PORT}, kustomization.yaml), agents/

`render` substitutes `${NAME}` placeholders, as CI does for an app's deploy/*.yaml (IMAGE, PORT,
COMMIT_SHA). `blob_id` is git's object id of a file, to compare with a GitLab tree without a download.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from appliance.ports.errors import PermanentError

SHOP = Path(__file__).resolve().parents[2] / "seed" / "shop"
ENVIRONMENTS = ("preflight", "production")  # where an app runs; agents run in <app>-agents
AGENTS = "agents"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class ProjectSeed:
    root: Path
    name: str
    apps: tuple[str, ...]

    @classmethod
    def read(cls, root: Path = SHOP) -> ProjectSeed:
        path = root / "meta" / "project.yaml"
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise PermanentError(f"seed content: cannot read {path}: {type(exc).__name__}") from None
        if not isinstance(doc, dict) or not doc.get("name") or not isinstance(doc.get("apps"), list):
            raise PermanentError(f"seed content: {path} needs a name and a list of apps")
        apps = tuple(str(a["name"]) for a in doc["apps"] if isinstance(a, dict) and a.get("name"))
        for app in apps:
            if not (root / app).is_dir() or not (root / "gitops" / app).is_dir():
                raise PermanentError(
                    f"seed content: app {app} needs {root / app} and {root / 'gitops' / app}"
                )
        return cls(root=root, name=str(doc["name"]), apps=apps)

    # repositories
    @property
    def meta_repo(self) -> str:
        return f"{self.name}/{self.name}-meta"

    def app_repo(self, app: str) -> str:
        return f"{self.name}/{app}"

    def gitops_repo(self, app: str) -> str:
        return f"{self.name}/{app}-gitops"

    def repos(self) -> list[tuple[str, str]]:
        """(repository, seed directory relative to root), meta first, then each app and its gitops."""
        found = [(self.meta_repo, "meta")]
        for app in self.apps:
            found += [(self.app_repo(app), app), (self.gitops_repo(app), f"gitops/{app}")]
        return found

    def files(self, part: str) -> dict[str, bytes]:
        """Every file under `root/part`, by its path in the repository."""
        base = self.root / part
        return {
            PurePosixPath(p.relative_to(base).as_posix()).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    # cluster
    def namespaces(self) -> list[str]:
        return [f"{app}-{env}" for app in self.apps for env in (AGENTS, *ENVIRONMENTS)]

    def url_key(self, app: str) -> str:
        """The key of an app's URL in the `<project>-endpoints` ConfigMap: shop-api -> SHOP_API_URL."""
        return re.sub(r"[^A-Z0-9]+", "_", app.upper()) + "_URL"

    @property
    def endpoints_configmap(self) -> str:
        return f"{self.name}-endpoints"


def render(text: str, values: dict[str, str]) -> str:
    """`${NAME}` -> values[NAME]; a placeholder without a value is an error."""
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise PermanentError(f"no value for placeholder {', '.join('${' + m + '}' for m in missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def manifests(app_files: dict[str, bytes]) -> dict[str, str]:
    """The app's Kubernetes manifests, deploy/<name>.yaml -> text (deploy/image.yaml is not one)."""
    found = {}
    for path, data in app_files.items():
        parent, name = path.rpartition("/")[::2]
        if parent != "deploy" or not name.endswith((".yaml", ".yml")):
            continue
        text = data.decode()
        docs = [d for d in yaml.safe_load_all(text) if d]
        if docs and all(isinstance(d, dict) and d.get("kind") for d in docs):
            found[name] = text
    if not found:
        raise PermanentError("the app has no manifests in deploy/")
    return found


def image_spec(app_files: dict[str, bytes]) -> tuple[list[str], str]:
    """(Cmd, WorkingDir) of the app's image, from deploy/image.yaml (default: python /app/app.py)."""
    raw = app_files.get("deploy/image.yaml")
    spec: Any = yaml.safe_load(raw.decode()) if raw else {}
    if not isinstance(spec, dict):
        raise PermanentError("deploy/image.yaml must be a mapping {cmd, workdir}")
    cmd = spec.get("cmd") or ["python", "/app/app.py"]
    return [str(c) for c in cmd], str(spec.get("workdir") or "/app")


def port_of(params: bytes) -> int | None:
    """The `port` of an environment's params.yaml, None when it has none (yet)."""
    try:
        doc = yaml.safe_load(params.decode())
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    port = doc.get("port") if isinstance(doc, dict) else None
    return port if isinstance(port, int) and 0 < port < 65536 else None


def blob_id(data: bytes) -> str:
    """git's object id of a file with this content (what a GitLab tree lists as `id`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
