"""Configuration, read once from the environment in the app factory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "production", "testing")
#: Settings of one instance, in its folder: ``make run`` writes it, so that the ``flask``
#: commands typed afterwards run against the same instance as the demo server.
ENV_FILE_NAME = "agritrace.env"


class ConfigError(RuntimeError):
    """The service cannot start with the configuration it was given."""


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the application config from the environment and explicit overrides.

    :param instance_path: the app's instance folder (SQLite file, chain store, uploads).
    :param overrides: values that win over the environment (tests, scripts).
    :returns: a plain dict for ``app.config.update``.
    :raises ConfigError: when a production setting has no safe value.
    """
    overrides = dict(overrides or {})
    load_env_file(instance_path)
    env = overrides.get("AGRITRACE_ENV") or os.environ.get("AGRITRACE_ENV", "production")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"AGRITRACE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    config: dict[str, Any] = {
        "AGRITRACE_ENV": env,
        "DATABASE_URL": os.environ.get("DATABASE_URL")
        or f"sqlite:///{Path(instance_path) / 'agritrace.db'}",
        "CHAIN_URL": os.environ.get("CHAIN_URL", "embedded"),
        "CHAIN_PRIVATE_KEY": os.environ.get("CHAIN_PRIVATE_KEY"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "UPLOAD_FOLDER": str(Path(instance_path) / "uploads"),
        "CERTIFICATE_MAX_BYTES": 5 * 1024 * 1024,
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "PASSWORD_HASH_METHOD": "scrypt",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": env == "production",
        "WTF_CSRF_TIME_LIMIT": None,
        # Where scan rate limits are counted: memory:// is per process, so with several
        # gunicorn workers point it at Redis (redis://127.0.0.1:6379/0) to share them.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Minting caps: stamp runs one lot may have, and stamps one producer may mint in
        # any 24 hours (a run of 1,000,000 is the most one request may ask for).
        "MINT_MAX_RUNS_PER_LOT": int(os.environ.get("MINT_MAX_RUNS_PER_LOT", 50)),
        "MINT_MAX_STAMPS_PER_DAY": int(os.environ.get("MINT_MAX_STAMPS_PER_DAY", 1_000_000)),
        # POST /chain/rpc (embedded chain only) runs EVM code for anonymous callers.
        "CHAIN_RPC_RATE_LIMIT": os.environ.get("CHAIN_RPC_RATE_LIMIT", "60 per minute"),
        # Gas cap, batch size, time limit, lock wait: their defaults and types are
        # chain.rpc_bridge.RpcLimits'; only what the environment sets is passed on.
        **{
            name: os.environ[name]
            for name in (
                "CHAIN_RPC_GAS_CAP",
                "CHAIN_RPC_MAX_BATCH",
                "CHAIN_RPC_TIME_LIMIT",
                "CHAIN_RPC_LOCK_WAIT",
            )
            if os.environ.get(name)
        },
        # Failed logins allowed per client address and per account (the email typed,
        # known or not) before the login page answers 429 with Retry-After; Flask-Limiter
        # syntax. Successful logins do not count.
        "LOGIN_CLIENT_LIMIT": os.environ.get("LOGIN_CLIENT_LIMIT", "10 per minute; 100 per hour"),
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("LOGIN_ACCOUNT_LIMIT", "10 per hour; 30 per day"),
        # After LOGIN_LOCKOUT_AFTER failures an account waits LOGIN_LOCKOUT_SECONDS, twice
        # as long after each further failure, at most LOGIN_LOCKOUT_MAX_SECONDS; failures
        # are forgotten on a successful login or LOGIN_FAILURE_MEMORY_SECONDS after the first.
        "LOGIN_LOCKOUT_AFTER": int(os.environ.get("LOGIN_LOCKOUT_AFTER", 5)),
        "LOGIN_LOCKOUT_SECONDS": int(os.environ.get("LOGIN_LOCKOUT_SECONDS", 60)),
        "LOGIN_LOCKOUT_MAX_SECONDS": int(os.environ.get("LOGIN_LOCKOUT_MAX_SECONDS", 3600)),
        "LOGIN_FAILURE_MEMORY_SECONDS": int(os.environ.get("LOGIN_FAILURE_MEMORY_SECONDS", 86400)),
        # Registrations accepted per client address (slows account probing and spam).
        "REGISTER_CLIENT_LIMIT": os.environ.get("REGISTER_CLIENT_LIMIT", "10 per hour"),
        **_worker_settings(),
        **_alert_settings(env),
        **_stamp_settings(),
        **_scan_write_settings(env),
        **_marketplace_settings(),
    }
    config.update(overrides)
    # API callers are kept a few seconds per worker; tests see each token change at once.
    config.setdefault("API_TOKEN_CACHE_SECONDS", 0.0 if config.get("TESTING") else 5.0)
    config["DATABASE_URL"] = normalize_database_url(config["DATABASE_URL"])
    config["TRUSTED_PROXIES"] = _proxy_count(
        config.get("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES", "0"))
    )
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key_for(env, instance_path)
    return config


def _worker_settings() -> dict[str, Any]:
    """Anchoring rounds and dashboard rollups: how often, how big, how sure."""
    return {
        "ANCHOR_INTERVAL_SECONDS": float(os.environ.get("ANCHOR_INTERVAL_SECONDS", 30.0)),
        "ANCHOR_MAX_LEAVES": int(os.environ.get("ANCHOR_MAX_LEAVES", 10_000)),
        "ANCHOR_CONFIRMATIONS": int(os.environ.get("ANCHOR_CONFIRMATIONS", 1)),
        "INTEGRITY_INTERVAL_SECONDS": float(os.environ.get("INTEGRITY_INTERVAL_SECONDS", 300.0)),
        # How many workers may sweep at once: the sweep's lots are cut into this many
        # ranges, each checked one job (one slice) after another behind the other jobs.
        "SWEEP_CHAINS": int(os.environ.get("SWEEP_CHAINS", 2)),
        "ROLLUP_INTERVAL_SECONDS": float(os.environ.get("ROLLUP_INTERVAL_SECONDS", 60.0)),
    }


def _alert_settings(env: str) -> dict[str, Any]:
    """Alerts and webhooks; outside production webhooks may target private addresses."""
    private = os.environ.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")
    return {
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": env != "production" if private is None else flag(private),
        "WEBHOOK_TIMEOUT_SECONDS": float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", 5.0)),
        "ALERT_ROUND_FAILURES": int(os.environ.get("ALERT_ROUND_FAILURES", 3)),
        "CERTIFICATION_CHECK_SECONDS": float(os.environ.get("CERTIFICATION_CHECK_SECONDS", 3600.0)),
    }


#: Marketplace and portal settings taken from the environment; the marketplace package
#: derives its sandbox defaults from what is set (marketplace/config.py).
MARKETPLACE_SETTINGS = (
    "POSTMART_URL",
    "POSTMART_API_KEY",
    "VOSO_URL",
    "VOSO_CLIENT_ID",
    "VOSO_CLIENT_SECRET",
    "MARKETPLACE_TIMEOUT",
    "MARKETPLACE_CONNECT_TIMEOUT",
    "MARKETPLACE_MAX_ATTEMPTS",
    "MARKETPLACE_BACKOFF_SECONDS",
    "MARKETPLACE_SANDBOXES",
    "POSTMART_SANDBOX_PORT",
    "VOSO_SANDBOX_PORT",
    "SANDBOX_FAULTS",
    "PORTAL_URL",
    "PORTAL_CLIENT_ID",
    "PORTAL_CLIENT_SECRET",
    "PORTAL_SANDBOX_PORT",
    "PORTAL_SWEEP_SECONDS",
)


def _marketplace_settings() -> dict[str, Any]:
    """The marketplace package's section: only what the environment sets."""
    return {name: os.environ[name] for name in MARKETPLACE_SETTINGS if os.environ.get(name)}


def _stamp_settings() -> dict[str, Any]:
    """The stamps package's section: scans, their caches and limits, voids."""
    return {
        # The window in which one client's views of a stamp are one scan.
        "SCAN_WINDOW_MINUTES": float(os.environ.get("SCAN_WINDOW_MINUTES", 30)),
        # Scans per client (Flask-Limiter syntax), on the hot path and the full view alike.
        "SCAN_RATE_LIMIT": "60 per minute",
        # False (SCAN_HOT_PATH=0) serves every scan through the full Flask view.
        "SCAN_HOT_PATH": os.environ.get("SCAN_HOT_PATH", "1") != "0",
        # Lot stories a worker keeps in memory for scan pages and verdicts, by version
        # (~15 KB each with both languages' HTML: 2,048 hold ~30 MB); a story not held is
        # read from its shared row (one primary-key read and its HMAC, ~0.3 ms).
        "SCAN_STORY_CACHE_SIZE": int(os.environ.get("SCAN_STORY_CACHE_SIZE", 2048)),
        # Lot stories (and their rendered HTML) shared between workers, each checked once
        # per version and day for the whole deployment (stamps.story_share); False
        # (SCAN_SHARE_STORIES=0): each worker reads and checks every lot itself.
        "SCAN_SHARE_STORIES": flag(os.environ.get("SCAN_SHARE_STORIES", "1")),
        # PostgreSQL: wait for each hot-path scan's commit to reach the disk. False: a
        # server crash may lose the last ~0.6 s of scans, each whole, never one counted
        # twice (stamps.hotpath.statements.RECORD_SCAN_ASYNC).
        "SCAN_DURABLE_COMMIT": flag(os.environ.get("SCAN_DURABLE_COMMIT", "0")),
        # How long a scan's "share my province" form stays valid (seconds: the scan window).
        "SCAN_CONSENT_MAX_AGE": 30 * 60,
        # Leaves of lots' stamp trees kept for proof bundles.
        # (64 bytes a leaf: 16 MB a worker; the host's tree store, PROOF_TREE_STORE, holds
        # the rest for every worker.)
        "PROOF_TREE_CACHE_LEAVES": int(os.environ.get("PROOF_TREE_CACHE_LEAVES", 250_000)),
        # Where the host keeps lots' stamp trees for proof bundles, written by minting and
        # by `flask proof-trees` (64 bytes a stamp, never stale, safe to delete:
        # stamps.proof_store). None: <instance>/proof-trees; empty (PROOF_TREE_STORE=):
        # none kept on disk.
        "PROOF_TREE_STORE": os.environ.get("PROOF_TREE_STORE"),
        # How long a farmer can undo a void of damaged labels.
        "STAMP_VOID_UNDO_HOURS": int(os.environ.get("STAMP_VOID_UNDO_HOURS", 24)),
    }


def _scan_write_settings(env: str) -> dict[str, Any]:
    """How the scan hot path writes counted scans (stamps.hotpath.scan_buffer).

    Scans are written in batches of up to SCAN_WRITE_BATCH, each within SCAN_WRITE_DELAY_MS
    of being answered (a worker killed outright loses at most those); 0 or 1 writes each
    scan before answering it. The test suite writes directly (its tests read scans right
    after making them, through other apps); so does an in-memory SQLite database.
    """
    return {
        "SCAN_WRITE_BATCH": int(os.environ.get("SCAN_WRITE_BATCH", 0 if env == "testing" else 64)),
        "SCAN_WRITE_DELAY_MS": float(os.environ.get("SCAN_WRITE_DELAY_MS", 20.0)),
    }


def flag(value: str) -> bool:
    """A boolean setting given as text: "1", "true", "yes" or "on" (any case) is true."""
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_env_file(instance_path: str) -> dict[str, str]:
    """Fill in, from the instance's ``agritrace.env``, the settings the environment lacks.

    The file holds ``NAME=value`` lines (``#`` starts a comment line). A variable already in
    the environment always wins; like ``flask``'s own ``.env`` loading, the values filled in
    go into ``os.environ``, so the processes this one starts see the same instance settings.

    :returns: the settings taken from the file.
    :raises ConfigError: when a line is not ``NAME=value``.
    """
    path = Path(instance_path) / ENV_FILE_NAME
    if not path.is_file():
        return {}
    taken: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, equals, value = (part.strip() for part in text.partition("="))
        if not equals or not name.isidentifier():
            raise ConfigError(f"{path}, line {number}: expected NAME=value, not {text!r}")
        if name not in os.environ:
            taken[name] = os.environ[name] = value
    return taken


def _proxy_count(value: object) -> int:
    """How many reverse proxies in front of the app append to ``X-Forwarded-For``."""
    try:
        count = int(str(value))
    except ValueError:
        count = -1
    if count < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number of proxies, not {value!r}")
    return count


def normalize_database_url(url: str) -> str:
    """Point bare ``postgres://`` / ``postgresql://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key_for(env: str, instance_path: str) -> str:
    if env == "production":
        raise ConfigError(
            "SECRET_KEY is not set. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_hex(32))'), "
            "or set AGRITRACE_ENV=development for a local demo."
        )
    if env == "testing":
        return secrets.token_hex(32)
    # Development keeps one random key in the instance folder so logins survive restarts.
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
