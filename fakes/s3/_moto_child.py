"""Run moto's S3 (its Flask app, under Werkzeug's threaded server) on a free loopback port.

Started by `fakes.s3.backend.MotoProcess` as a script, not imported: it prints the port on stdout
and exits when its stdin closes, so it never outlives the fake that started it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

os.environ.setdefault("S3_IGNORE_SUBDOMAIN_BUCKETNAME", "true")  # path-style only; read at import

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def _exit_when_parent_goes() -> None:
    sys.stdin.read()  # returns at EOF: the parent closed the pipe, or died
    os._exit(0)


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(
        "127.0.0.1", 0, create_backend_app("s3"), threaded=True, request_handler=MotoRequestHandler
    )
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    print(server.server_port, flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nobody reads the pipe any more
    server.serve_forever()


if __name__ == "__main__":
    main()
