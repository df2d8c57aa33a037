"""shop-api: the shop's product catalogue over HTTP (JSON), on the Python standard library alone.

    PORT=8080 SHOP_DB_URL=postgresql://postgres:5432/shop python app.py

Routes (contract: shop/shop-meta contracts/shop-api.openapi.yaml):

    GET /healthz          {"status": "ok"}
    GET /products         every product, ordered by id
    GET /products/{id}    one product, or 404 {"error": "..."}

Configuration comes from the environment (documented in .env.example): PORT (default 8080) and
SHOP_DB_URL, the catalogue database, which is required: the service does not start without it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

PRODUCTS: list[dict[str, Any]] = [
    {"id": 1, "name": "Espresso beans, 1 kg", "price": 24.5, "currency": "EUR"},
    {"id": 2, "name": "Pour-over kettle", "price": 49.0, "currency": "EUR"},
    {"id": 3, "name": "Ceramic mug", "price": 12.0, "currency": "EUR"},
    {"id": 4, "name": "Hand grinder", "price": 89.9, "currency": "EUR"},
]
PRODUCT_PATH = re.compile(r"^/products/([^/]+)$")


class Catalogue:
    """The products, as read from the database named by SHOP_DB_URL (a fixed list in this demo)."""

    def __init__(self, db_url: str) -> None:
        parts = urlsplit(db_url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise ValueError("SHOP_DB_URL must be a postgresql://host:port/database URL")
        self.database = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
        self.products = {p["id"]: p for p in PRODUCTS}

    def all(self) -> list[dict[str, Any]]:
        return [self.products[i] for i in sorted(self.products)]

    def get(self, product_id: int) -> dict[str, Any] | None:
        return self.products.get(product_id)


class Handler(BaseHTTPRequestHandler):
    server_version = "shop-api/1.0"
    catalogue: Catalogue

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self.reply(200, {"status": "ok"})
        elif path == "/":
            self.reply(200, {"service": "shop-api", "routes": ["/healthz", "/products", "/products/{id}"]})
        elif path == "/products":
            self.reply(200, self.catalogue.all())
        elif match := PRODUCT_PATH.match(path):
            raw = match.group(1)
            product = self.catalogue.get(int(raw)) if raw.isdigit() else None
            if product is None:
                self.reply(404, {"error": f"no product with id {raw}"})
            else:
                self.reply(200, product)
        else:
            self.reply(404, {"error": f"no route for GET {path}"})

    def reply(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    catalogue = Catalogue(os.environ["SHOP_DB_URL"])
    Handler.catalogue = catalogue
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"shop-api listening on 127.0.0.1:{port}, catalogue at {catalogue.database}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
