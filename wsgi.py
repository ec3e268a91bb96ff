import gc
import sys

from trace.app import create_app
from trace.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # an operator's mistake: say what to set, not a traceback
    raise SystemExit(f"AgriTrace cannot start: {error}") from None

if "gunicorn" in sys.modules:  # a server's worker (each imports this), not a flask command
    # What starting made (~250,000 objects: modules, templates, catalogues, mappers) lives as
    # long as the worker. Frozen, the collector's full passes no longer walk it: one such
    # pass stopped a worker for ~0.5 s while it served scans (issue 21's p99).
    gc.collect()
    gc.freeze()
