"""One Settings object, read from AFTERSALE_* environment variables."""

from __future__ import annotations

import ipaddress
import json
import secrets
import tomllib
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aftersale.domain.policy import Policy

PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "admin", "token", "test", "xxx"}


class Settings(BaseSettings):
    """Everything configurable about a running aftersale."""

    model_config = SettingsConfigDict(env_prefix="AFTERSALE_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path("data")
    admin_token: str | None = None
    test_clock: bool = False
    policy_file: Path | None = None
    secret_key: str | None = None
    sandbox_refund_days: int = Field(default=3, ge=3, le=20)
    demo: bool = False
    embedded_worker: bool | None = None
    worker_interval: float = Field(default=1.0, gt=0)
    pool_size: int = Field(default=10, ge=1, le=200)
    # threads running requests per API process: more than a few only adds GIL hand-offs
    api_threads: int = Field(default=2, ge=1, le=200)
    # the busiest writes answered without FastAPI's routing (api/hot_routes.py); off: every
    # request takes the app's full path (the same answers, more CPU)
    hot_routes: bool = True
    # where card refunds go (API.md, "Payment gateways"); the sandbox moves no money
    payment_gateway: Literal["sandbox", "stripe"] = "sandbox"
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None  # default: Stripe's own; a local server in tests
    stripe_webhook_secret: str | None = None
    # /metrics (bearer token when set), Prometheus counters and one JSON log line a request
    metrics_token: str | None = None
    observability: bool = True
    # webhooks and mail (API.md "Webhooks (admin)", "Notifications (email)")
    webhook_allow_private: bool = False
    webhook_in_flight: int = Field(default=64, ge=1, le=1000)
    webhook_timeout: float = Field(default=15.0, gt=0, le=60)
    # how long a worker holds the deliveries it took (a killed worker's come back after it)
    webhook_lease: float = Field(default=60.0, gt=0)
    smtp_url: str | None = None
    # the CA bundle that SMTP's TLS (smtps://, smtp+starttls://) trusts; default: the system's
    smtp_ca_file: Path | None = None
    mail_from: str = "aftersale@localhost"
    public_url: str = "http://127.0.0.1:8000"
    # hardening (issue 17): the session cookie's Secure flag and HSTS (default: on when the
    # public URL is https)
    cookie_secure: bool | None = None
    # input limits (api/limits.py): the largest request body, checked while it streams and
    # before authentication; a multipart upload may add an evidence file (5 MiB) to it
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # who may say who the client is: X-Forwarded-For is honoured only from these peers
    # (comma-separated IPs or CIDRs; default none: the peer's own address counts)
    trusted_proxies: str = ""
    # the login rate limit (counted in the database, shared by every process): tries per
    # normalised email and client address in a 15-minute window
    login_attempts: int = Field(default=5, ge=1, le=1000)
    # API requests a minute per token (a token bucket in each process's memory; 0: no limit)
    api_rate: int = Field(default=6000, ge=0)
    # failed bearer tokens a minute per client address, per process (0: no limit)
    api_failed_tokens: int = Field(default=60, ge=0)
    # page sessions (server-side): end after this long unused, and at most this long after login
    session_idle_minutes: int = Field(default=120, ge=1)
    session_max_hours: int = Field(default=14 * 24, ge=1)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError: refused
        return value

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The trusted proxies' networks."""
        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies are Secure and HSTS is sent (served over HTTPS)."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.lower().startswith("https://")

    @field_validator("admin_token", "secret_key", "metrics_token")
    @classmethod
    def _no_placeholders(cls, value: str | None) -> str | None:
        if value is not None and (value.lower() in PLACEHOLDERS or len(value) < 12):
            raise ValueError("refusing a placeholder or short secret (12 characters at least)")
        return value

    @property
    def url(self) -> str:
        """The database URL; by default a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aftersale.db').resolve()}"

    def policy(self) -> Policy:
        """The live policy: the defaults, overridden by the policy file if one is set."""
        if self.policy_file is None:
            return Policy()
        raw = self.policy_file.read_text()
        data = tomllib.loads(raw) if self.policy_file.suffix == ".toml" else json.loads(raw)
        return Policy.from_dict(data.get("policy", data))

    def session_secret(self) -> str:
        """The key that signs session cookies (made once and kept in the data folder)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process's settings."""
    return Settings()
