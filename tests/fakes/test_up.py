"""`python -m fakes up`: every fake starts on its own port, answers, and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_all_fakes_come_up_and_answer(tmp_path: Path) -> None:
    out = tmp_path / "fakes.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakes",
            "up",
            "--data-dir",
            str(tmp_path),
            "--port-base",
            "0",
            "--json",
            str(out),
            "--option",
            "argocd.period_s=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not out.exists() or "credentials and URLs" not in (
            proc.stdout.readline() if proc.stdout else ""
        ):
            assert proc.poll() is None, "python -m fakes up exited early"
            assert time.monotonic() < deadline, "the fakes did not come up"
        fakes = json.loads(out.read_text())
        assert sorted(fakes) == [
            "alertmanager",
            "argocd",
            "gitlab",
            "harbor",
            "jenkins",
            "kubernetes",
            "monitor",
            "s3",
        ]
        assert oct(out.stat().st_mode & 0o777) == "0o600"
        for name, entry in fakes.items():
            health = httpx.get(f"{entry['url']}/_fake/health", timeout=10)
            assert health.json() == {"status": "ok", "name": name}, name
            assert len(set(entry["tokens"].values())) == len(entry["tokens"])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_unknown_fake_and_missing_peer_are_clear_errors(tmp_path: Path) -> None:
    unknown = subprocess.run(
        [sys.executable, "-m", "fakes", "up", "--only", "gitlab,svn"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert unknown.returncode != 0 and "no fake named svn" in unknown.stderr
    alone = subprocess.run(
        [sys.executable, "-m", "fakes", "up", "--only", "argocd"], capture_output=True, text=True, timeout=30
    )
    assert alone.returncode != 0 and "argocd needs kubernetes, gitlab too" in alone.stderr
