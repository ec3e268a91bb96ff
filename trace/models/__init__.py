"""Database tables of the registry (SQLModel); the schema itself is owned by Alembic."""

from trace.models.accounts import Role, User
from trace.models.alerts import Alert, WebhookDelivery, WebhookSubscription
from trace.models.anchoring import AnchorRound, Job, LotDocument, RoundStatus, WorkerHeartbeat
from trace.models.lots import Event, EventKind, Lot, LotInput
from trace.models.registry import (
    Certification,
    CertificationProduct,
    CertificationScheme,
    Plot,
    Producer,
    ProducerKind,
    ProducerStatus,
    Product,
)

__all__ = [
    "Alert",
    "WebhookDelivery",
    "WebhookSubscription",
    "AnchorRound",
    "Job",
    "LotDocument",
    "RoundStatus",
    "Certification",
    "CertificationProduct",
    "CertificationScheme",
    "Event",
    "EventKind",
    "Lot",
    "LotInput",
    "Plot",
    "Producer",
    "ProducerKind",
    "ProducerStatus",
    "Product",
    "Role",
    "User",
    "WorkerHeartbeat",
]
