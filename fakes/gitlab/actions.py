"""Commit actions, as GitLab's commits API takes them: create, update, delete, move, chmod.

They apply to a flat listing of a tree (path -> (mode, blob id)); `ActionError` says why one
makes no sense (the file exists, is missing, or the path is invalid), in GitLab's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class ActionError(Exception):
    pass


@dataclass(frozen=True)
class Action:
    action: str  # create, update, delete, move, chmod
    file_path: str
    content: bytes | None = None
    previous_path: str | None = None
    execute_filemode: bool | None = None


def clean_path(path: str) -> str:
    path = path.strip("/")
    parts = path.split("/")
    if not path or any(p in ("", ".", "..", ".git") for p in parts) or any(ord(c) < 32 for c in path):
        raise ActionError(f"Your changes could not be committed, because the file path '{path}' is invalid")
    return path


def apply(files: dict[str, tuple[str, str]], action: Action, hash_blob: Callable[[bytes], str]) -> None:
    """Apply one action to `files` (path -> (mode, blob id)), storing new content with `hash_blob`."""
    path = clean_path(action.file_path)

    def mode(current: str) -> str:
        if action.execute_filemode is None:
            return current
        return "100755" if action.execute_filemode else "100644"

    def blob(current: str | None = None) -> str:
        if action.content is None and current is not None:
            return current
        return hash_blob(action.content or b"")

    if action.action in ("update", "delete", "chmod") and path not in files:
        raise ActionError("A file with this name doesn't exist")
    if action.action == "create":
        _check_free(files, path)
        files[path] = (mode("100644"), blob())
    elif action.action == "update":
        files[path] = (mode(files[path][0]), blob())
    elif action.action == "delete":
        del files[path]
    elif action.action == "chmod":
        files[path] = (mode(files[path][0]), files[path][1])
    elif action.action == "move":
        previous = clean_path(action.previous_path or "")
        if previous not in files:
            raise ActionError("A file with this name doesn't exist")
        old_mode, old_sha = files.pop(previous)
        _check_free(files, path)
        files[path] = (mode(old_mode), blob(old_sha))
    else:
        raise ActionError(f"Unknown action '{action.action}'")


def _check_free(files: dict[str, tuple[str, str]], path: str) -> None:
    parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
    if path in files or any(p in files for p in parents) or any(f.startswith(f"{path}/") for f in files):
        raise ActionError("A file with this name already exists")
