"""``python -m marketplace.sandbox postmart|voso|portal [--port N] [--db FILE]``: one sandbox."""

from __future__ import annotations

import argparse
import json
import os

from marketplace.sandbox import portal, postmart, voso
from marketplace.sandbox.servers import start

DEFAULT_PORTS = {"postmart": 5101, "voso": 5102, "portal": 5103}
FACTORIES = {"postmart": postmart.create_app, "voso": voso.create_app, "portal": portal.create_app}


def main(argv: list[str] | None = None) -> None:
    """Serve one sandbox until interrupted; faults may come as JSON in ``SANDBOX_FAULTS``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("style", choices=sorted(DEFAULT_PORTS))
    parser.add_argument("--port", type=int)
    parser.add_argument("--db", help="SQLite file (default: instance/sandbox-STYLE.db)")
    args = parser.parse_args(argv)
    factory = FACTORIES[args.style]
    app = factory(args.db or f"instance/sandbox-{args.style}.db")
    if os.environ.get("SANDBOX_FAULTS"):
        app.configure(json.loads(os.environ["SANDBOX_FAULTS"]))
    running = start(app, port=args.port or DEFAULT_PORTS[args.style])
    print(f"{args.style} sandbox on {running.url} (Ctrl+C to stop)")
    try:
        running.thread.join()
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
