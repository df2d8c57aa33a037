"""`python -m fakes up`: every fake starts on its own port, answers, and stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fakes.alertmanager.real import BINARY


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
        real = BINARY.exists()
        assert fakes["alertmanager"]["kind"] == ("real" if real else "fake")
        for name, entry in fakes.items():
            if entry["kind"] == "real":  # the real Alertmanager: its own readiness and API
                assert httpx.get(f"{entry['url']}/-/ready", timeout=10).status_code == 200
                status = httpx.get(f"{entry['url']}/api/v2/status", timeout=10).json()
                assert "group_by" in status["config"]["original"]
                continue
            health = httpx.get(f"{entry['url']}/_fake/health", timeout=10)
            assert health.json() == {"status": "ok", "name": name}, name
            assert len(set(entry["tokens"].values())) == len(entry["tokens"])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_the_fake_alertmanager_is_kept_on_request_and_a_bad_kind_is_named(tmp_path: Path) -> None:
    out = tmp_path / "fakes.json"
    cmd = [sys.executable, "-m", "fakes", "up", "--only", "alertmanager", "--port-base", "0",
           "--data-dir", str(tmp_path), "--json", str(out)]  # fmt: skip
    bad = subprocess.run([*cmd, "--option", "alertmanager.kind=maybe"], capture_output=True, text=True,
                         timeout=30)  # fmt: skip
    assert bad.returncode != 0 and "alertmanager.kind is auto, real or fake, not 'maybe'" in bad.stderr
    proc = subprocess.Popen([*cmd, "--option", "alertmanager.kind=fake"], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while "credentials and URLs" not in (proc.stdout.readline() if proc.stdout else ""):
            assert proc.poll() is None and time.monotonic() < deadline, "the fake did not come up"
        entry = json.loads(out.read_text())["alertmanager"]
        assert entry["kind"] == "fake"
        assert httpx.get(f"{entry['url']}/_fake/health", timeout=10).json()["name"] == "alertmanager"
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
