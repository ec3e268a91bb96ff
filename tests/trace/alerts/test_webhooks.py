"""Alert webhooks end to end: a real receiver gets one signed delivery per alert, retried
with the outbox's backoff until it answers 2xx; the delivery status is visible."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col

from tests.registry_fixtures import Farm
from tests.trace.alerts.conftest import SECRET, Receiver
from trace.alerts.signing import HEADER, verify
from trace.alerts.webhooks import JOB_DELIVER, target_problem
from trace.models import Job
from trace.models.base import utcnow


def subscribe(admin_api: Any, receiver: Receiver, kinds: list[str]) -> int:
    body = {"url": receiver.url, "kinds": kinds, "secret": SECRET}
    response = admin_api.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.json
    assert response.json["secret"] == SECRET
    return int(response.json["id"])


def delete(admin_api: Any, subscription: int) -> Any:
    path = f"/api/v1/webhooks/{subscription}"
    return admin_api.client.delete(path, headers=admin_api.headers)


def recall(inspector_api: Any, farm: Farm) -> None:
    response = inspector_api.post(
        f"/api/v1/batches/{farm.lot_id}/recall", json={"reason": "Salmonella found"}
    )
    assert response.status_code == 200, response.json


def bring_retries_forward(session: Session) -> None:
    """The outbox's backoff, without waiting it out: make every webhook job due now."""
    session.execute(
        update(Job)
        .where(col(Job.kind) == JOB_DELIVER)
        .values(run_after=utcnow() - timedelta(seconds=1))
    )
    session.commit()


def test_a_recall_produces_exactly_one_signed_delivery(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    deliver: Callable[[], int],
) -> None:
    subscription = subscribe(admin_api, receiver, ["recall"])
    recall(inspector_api, farm_a)
    recall(inspector_api, farm_a)  # a repeat recall raises no second alert
    assert deliver() == 1
    [(headers, body)] = receiver.received
    assert verify(SECRET, headers[HEADER], body)
    assert not verify("whsec_a-wrong-secret-0000", headers[HEADER], body)
    sent = json.loads(body)
    assert (sent["kind"], sent["lot_id"]) == ("recall", farm_a.lot_id)
    assert "Salmonella found" in sent["message"] and "thu hồi" in sent["message_vi"]
    [delivery] = admin_api.get(f"/api/v1/webhooks/{subscription}/deliveries").json["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    assert delivery["delivered_at"] is not None and delivery["kind"] == "recall"


def test_a_failing_receiver_gets_the_delivery_on_the_third_try(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    session: Session,
    deliver: Callable[[], int],
) -> None:
    subscription = subscribe(admin_api, receiver, ["recall"])
    receiver.statuses = [500, 500]
    recall(inspector_api, farm_a)
    deliveries = f"/api/v1/webhooks/{subscription}/deliveries"
    assert deliver() == 1
    [first] = admin_api.get(deliveries).json["items"]
    assert (first["status"], first["attempts"], first["last_status_code"]) == ("pending", 1, 500)
    assert deliver() == 0  # backing off: the retry is not due yet
    bring_retries_forward(session)
    assert deliver() == 1
    bring_retries_forward(session)
    assert deliver() == 1
    assert len(receiver.received) == 3
    assert all(verify(SECRET, headers[HEADER], body) for headers, body in receiver.received)
    assert len({body for _, body in receiver.received}) == 1  # the same alert each time
    [done] = admin_api.get(deliveries).json["items"]
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("delivered", 3, 200)
    bring_retries_forward(session)
    assert deliver() == 0 and len(receiver.received) == 3  # delivered once, never again


def test_a_subscription_gets_only_the_kinds_it_asked_for(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    deliver: Callable[[], int],
) -> None:
    subscribe(admin_api, receiver, ["tamper_detected"])
    recall(inspector_api, farm_a)
    assert deliver() == 0 and receiver.received == []


def test_only_an_admin_token_with_the_admin_scope_manages_webhooks(
    api_as: Any, token_for: Any, admin: Any, inspector: Any, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "kinds": ["recall"]}
    inspector_read = api_as(token_for(inspector, "read", "recall", "capture"))
    admin_read = api_as(token_for(admin, "read"))
    assert inspector_read.post("/api/v1/webhooks", json=body).status_code == 403
    assert admin_read.post("/api/v1/webhooks", json=body).status_code == 403
    assert api_as(None).get("/api/v1/webhooks").status_code == 401
    admin_api = api_as(token_for(admin, "admin"))
    created = admin_api.post("/api/v1/webhooks", json=body)
    assert created.status_code == 201 and created.json["secret"].startswith("whsec_")
    listed = admin_api.get("/api/v1/webhooks").json["items"]
    assert [s["url"] for s in listed] == [receiver.url] and "secret" not in listed[0]
    assert delete(admin_api, created.json["id"]).status_code == 204
    assert admin_api.get(f"/api/v1/webhooks/{created.json['id']}").json["disabled_at"]


def test_a_disabled_subscription_gets_nothing(
    admin_api: Any,
    inspector_api: Any,
    receiver: Receiver,
    farm_a: Farm,
    deliver: Callable[[], int],
) -> None:
    subscription = subscribe(admin_api, receiver, ["recall"])
    assert delete(admin_api, subscription).status_code == 204
    recall(inspector_api, farm_a)
    assert deliver() == 0 and receiver.received == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "file:///etc/passwd", "http:///no-host", "javascript:alert(1)"],
)
def test_only_http_urls_are_accepted(admin_api: Any, url: str) -> None:
    response = admin_api.post("/api/v1/webhooks", json={"url": url, "kinds": ["recall"]})
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "#/url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]/hook",
        "http://192.168.1.10/hook",
    ],
)
def test_production_refuses_private_and_loopback_targets(url: str) -> None:
    assert target_problem(url, allow_private=False) is not None
    assert target_problem(url, allow_private=True) is None


def test_registration_refuses_a_loopback_target_unless_allowed(
    app: Any, admin_api: Any, receiver: Receiver
) -> None:
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = False
    refused = admin_api.post("/api/v1/webhooks", json={"url": receiver.url})
    assert refused.status_code == 422
    assert "private or loopback" in refused.json["errors"][0]["detail"]
