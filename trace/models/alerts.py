"""Alerts for inspectors, the webhook subscriptions admins register, and each delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from trace.models.base import utcnow


class Alert(SQLModel, table=True):
    """Something an inspector should know happened: a recall, tampering, a flag, ..."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    message: str = Field(max_length=500)  # English; the API renders each reader's language
    lot_id: int | None = Field(default=None, foreign_key="lots.id", index=True)
    producer_id: int | None = Field(default=None, foreign_key="producers.id", index=True)
    # The producer's district when the alert was raised (filtering needs no join).
    district: str | None = Field(default=None, max_length=100, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # One alert per occurrence: a recall of a lot, a flag rule of a stamp, ...
    dedupe_key: str | None = Field(default=None, max_length=160, unique=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class WebhookSubscription(SQLModel, table=True):
    """A URL an admin registered to receive alerts of some kinds, signed with a secret."""

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    kinds: str = Field(max_length=200)  # comma-separated alert kinds
    # Kept as given: the HMAC of each delivery needs it (never shown again after creation).
    secret: str = Field(max_length=200)
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None

    @property
    def kind_set(self) -> frozenset[str]:
        return frozenset(k for k in self.kinds.split(",") if k)


class WebhookDelivery(SQLModel, table=True):
    """One alert sent (or being sent) to one subscription."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "alert_id", name="uq_webhook_deliveries_alert"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscriptions.id", index=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    status: str = Field(default="pending", max_length=12)  # pending, delivered, failed
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
