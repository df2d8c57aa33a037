"""shop-frontend: the shop's web page, listing the products that shop-api serves (standard library only).

    PORT=8081 SHOP_API_URL=http://127.0.0.1:8080 python app.py

Routes:

    GET /          an HTML page with every product (from GET {SHOP_API_URL}/products); when the API is
                   unreachable or not configured, the page says so and answers 502
    GET /healthz   {"status": "ok"}: the frontend's own health, independent of the API

Configuration comes from the environment (documented in .env.example): PORT (default 8081) and
SHOP_API_URL (shop-api's base URL; in a cluster it comes from the ConfigMap `shop-endpoints`).
"""

from __future__ import annotations

import html
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop</title></head>
<body>
<h1>Shop</h1>
{body}
</body>
</html>
"""


class ApiError(Exception):
    """shop-api could not be asked, or answered something else than a product list."""


def fetch_products(api_url: str, timeout: float = 3.0) -> list[dict[str, Any]]:
    if not api_url:
        raise ApiError("SHOP_API_URL is not set")
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/products", timeout=timeout) as response:
            products = json.load(response)
    except (OSError, ValueError) as exc:
        raise ApiError(f"shop-api did not answer: {type(exc).__name__}") from None
    if not isinstance(products, list):
        raise ApiError("shop-api answered something else than a product list")
    return products


def render(products: list[dict[str, Any]]) -> str:
    rows = "\n".join(
        f'<li class="product" data-id="{html.escape(str(p.get("id", "")))}">'
        f"{html.escape(str(p.get('name', '')))}: "
        f"{html.escape(str(p.get('price', '')))} {html.escape(str(p.get('currency', '')))}</li>"
        for p in products
    )
    return PAGE.format(body=f'<ul id="products">\n{rows}\n</ul>' if products else "<p>No products yet.</p>")


class Handler(BaseHTTPRequestHandler):
    server_version = "shop-frontend/1.0"
    api_url = ""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self.reply(200, json.dumps({"status": "ok"}), "application/json")
        elif path == "/":
            try:
                self.reply(200, render(fetch_products(self.api_url)), "text/html; charset=utf-8")
            except ApiError as exc:
                body = PAGE.format(
                    body=f'<p class="error">The catalogue is unavailable: {html.escape(str(exc))}</p>'
                )
                self.reply(502, body, "text/html; charset=utf-8")
        else:
            self.reply(404, json.dumps({"error": f"no route for GET {path}"}), "application/json")

    def reply(self, status: int, text: str, content_type: str) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    port = int(os.environ.get("PORT", "8081"))
    Handler.api_url = os.environ.get("SHOP_API_URL", "")
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"shop-frontend listening on 127.0.0.1:{port}, products from {Handler.api_url or '(unset)'}",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
