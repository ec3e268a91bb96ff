"""Run sandbox apps on 127.0.0.1 in daemon threads (``make run`` and the tests)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler, make_server

from marketplace.sandbox.base import SandboxApp

log = logging.getLogger(__name__)


class QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not to the terminal of ``make run``.

    Nagle is off: the server writes headers and body separately, and with the client's
    delayed ACK every answer on a kept-alive connection would wait ~40 ms.
    """

    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("sandbox %s %s -> %s", self.command, self.path, code)

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - base signature
        log.log(logging.ERROR if type == "error" else logging.DEBUG, message, *args)


@dataclass
class RunningSandbox:
    """A sandbox serving in a thread; ``url`` is where adapters should point."""

    app: SandboxApp
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.server_port}"

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve ``app`` on ``host:port`` (0 picks a free port) in a daemon thread."""
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    assert isinstance(server, ThreadedWSGIServer)  # threaded=True builds one
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{app.name}", daemon=True)
    thread.start()
    return RunningSandbox(app, server, thread)
