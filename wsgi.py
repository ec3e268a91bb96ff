from trace.app import create_app
from trace.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # an operator's mistake: say what to set, not a traceback
    raise SystemExit(f"AgriTrace cannot start: {error}") from None
