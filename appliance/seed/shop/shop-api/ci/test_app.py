"""shop-api's tests, run by CI before an image is built: `python -m unittest discover -s ci`.

The app runs as a real process on a free loopback port and is checked over HTTP against its contract.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[1] / "app.py"
DB_URL = "postgresql://postgres:5432/shop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(**env: str) -> subprocess.Popen[str]:
    """The app with this process's environment but SHOP_DB_URL, plus `env`."""
    base = {k: v for k, v in os.environ.items() if k != "SHOP_DB_URL"}
    return subprocess.Popen(
        [sys.executable, str(APP)],
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, and SIGKILL if the app has not exited 10 s later: the tests are over either way."""
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


class AppTest(unittest.TestCase):
    port: int
    proc: subprocess.Popen[str]

    @classmethod
    def setUpClass(cls) -> None:
        cls.port = free_port()
        cls.proc = start(PORT=str(cls.port), SHOP_DB_URL=DB_URL)
        deadline = time.monotonic() + 10
        while True:
            try:
                cls.get("/healthz")
                return
            except OSError:
                if cls.proc.poll() is not None or time.monotonic() > deadline:
                    cls.tearDownClass()
                    raise RuntimeError("shop-api did not start") from None
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls) -> None:
        stop(cls.proc)

    @classmethod
    def get(cls, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{cls.port}{path}", timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def test_health(self) -> None:
        self.assertEqual(self.get("/healthz"), (200, {"status": "ok"}))

    def test_products_are_listed_in_id_order(self) -> None:
        status, products = self.get("/products")
        self.assertEqual(status, 200)
        self.assertGreater(len(products), 0)
        self.assertEqual([p["id"] for p in products], sorted(p["id"] for p in products))
        for product in products:
            self.assertEqual(set(product), {"id", "name", "price", "currency"})
            self.assertRegex(product["currency"], r"^[A-Z]{3}$")

    def test_one_product(self) -> None:
        status, product = self.get("/products/1")
        self.assertEqual(status, 200)
        self.assertEqual(product["id"], 1)

    def test_unknown_product_is_404(self) -> None:
        for path in ("/products/999", "/products/abc"):
            status, body = self.get(path)
            self.assertEqual(status, 404, path)
            self.assertIn("error", body)


class ConfigurationTest(unittest.TestCase):
    def test_a_missing_database_url_stops_the_start(self) -> None:
        proc = start(PORT=str(free_port()))
        _, err = proc.communicate(timeout=10)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("KeyError: 'SHOP_DB_URL'", err)


if __name__ == "__main__":
    unittest.main()
