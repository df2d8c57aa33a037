"""shop-frontend's tests, run by CI before an image is built: `python -m unittest discover -s ci`.

The frontend runs as a real process on a free loopback port, in front of a stand-in shop-api served
from a thread of this process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[1] / "app.py"
PRODUCTS = [
    {"id": 1, "name": "Espresso beans <1 kg>", "price": 24.5, "currency": "EUR"},
    {"id": 2, "name": "Ceramic mug", "price": 12.0, "currency": "EUR"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandInApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        payload = json.dumps(PRODUCTS if self.path == "/products" else {"error": "no route"}).encode()
        self.send_response(200 if self.path == "/products" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Frontend:
    """The app as a process, and GET requests to it."""

    def __init__(self, api_url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PORT": str(self.port), "SHOP_API_URL": api_url}
        self.proc = subprocess.Popen(
            [sys.executable, str(APP)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.get("/healthz")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("shop-frontend did not start") from None
                time.sleep(0.05)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if the app has not exited 10 s later: the tests are over either way."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WithApiTest(unittest.TestCase):
    api: ThreadingHTTPServer
    frontend: Frontend

    @classmethod
    def setUpClass(cls) -> None:
        cls.api = ThreadingHTTPServer(("127.0.0.1", 0), StandInApi)
        threading.Thread(target=cls.api.serve_forever, daemon=True).start()
        cls.frontend = Frontend(f"http://127.0.0.1:{cls.api.server_address[1]}")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.frontend.stop()
        cls.api.shutdown()
        cls.api.server_close()

    def test_the_page_lists_every_product_escaped(self) -> None:
        status, page = self.frontend.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(page.count('class="product"'), len(PRODUCTS))
        self.assertIn("Espresso beans &lt;1 kg&gt;: 24.5 EUR", page)
        self.assertIn("Ceramic mug: 12.0 EUR", page)

    def test_health(self) -> None:
        status, body = self.frontend.get("/healthz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))


class WithoutApiTest(unittest.TestCase):
    def test_health_does_not_depend_on_the_api_and_the_page_says_it_is_down(self) -> None:
        frontend = Frontend(f"http://127.0.0.1:{free_port()}")
        try:
            self.assertEqual(frontend.get("/healthz")[0], 200)
            status, page = frontend.get("/")
            self.assertEqual(status, 502)
            self.assertIn("The catalogue is unavailable", page)
        finally:
            frontend.stop()


if __name__ == "__main__":
    unittest.main()
