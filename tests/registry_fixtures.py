"""Registry fixtures for every test package: approved farmers, holdings, logged-in clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import FAST_HASH
from trace.models import ProducerStatus, Role, User
from trace.services import accounts, holdings, lots
from trace.services.access import Actor
from trace.services.producers import ProducerProfile

PASSWORD = "correct horse battery"


def profile(n: int, **changes: Any) -> ProducerProfile:
    """A valid producer profile; ``n`` keeps registration numbers apart."""
    values = dict(
        name=f"HTX Thanh Long {n}",
        kind="cooperative",
        registration_number=f"{1100000000 + n}",
        address_line="Ấp 1",
        commune="Xã An Lục Long",
        district="Huyện Châu Thành",
        province="Long An",
        phone="0912 345 678",
        gln=None,
        company_prefix=f"8936{n:05d}",
    )
    values.update(changes)
    return ProducerProfile(**values)


@dataclass
class Farm:
    """An approved producer with a farmer login, a plot, a product and a lot."""

    user: User
    actor: Actor
    email: str
    plot_id: int
    product_id: int
    lot_id: int


@pytest.fixture
def session(app: Flask):  # type: ignore[no-untyped-def]
    with Session(app.extensions["db_engine"], expire_on_commit=False) as s:
        yield s


@pytest.fixture
def admin(session: Session) -> User:
    return accounts.create_user(session, "admin@example.vn", PASSWORD, Role.ADMIN, FAST_HASH)


@pytest.fixture
def inspector(session: Session) -> User:
    return accounts.create_user(
        session, "inspector@example.vn", PASSWORD, Role.INSPECTOR, FAST_HASH
    )


@pytest.fixture
def make_farm(session: Session, admin: User) -> Callable[[int], Farm]:
    def make(n: int) -> Farm:
        email = f"farmer{n}@example.vn"
        registration = accounts.Registration(email, PASSWORD, f"Farmer {n}", profile(n))
        user = accounts.register_producer(session, registration, FAST_HASH)
        assert user.producer_id is not None
        accounts.set_producer_status(
            session, accounts.actor_for(admin), user.producer_id, ProducerStatus.APPROVED
        )
        actor = accounts.actor_for(user)
        plot = holdings.add_plot(session, actor, "Vườn 1", "1.5", "10.45", "106.50")
        product = holdings.add_product(
            session,
            actor,
            name_vi="Thanh long ruột đỏ",
            name_en="Red dragon fruit",
            category="fruit",
            unit="kg",
            gtin=None,
        )
        lot = lots.create_lot(
            session,
            actor,
            lots.NewLot(
                product.id, f"TL-{n}", date.today() - timedelta(days=3), "500", "kg", plot.id
            ),
            date.today(),
        )
        return Farm(user, actor, email, plot.id, product.id, lot.id)  # type: ignore[arg-type]

    return make


@pytest.fixture
def farm_a(make_farm: Callable[[int], Farm]) -> Farm:
    return make_farm(1)


@pytest.fixture
def farm_b(make_farm: Callable[[int], Farm]) -> Farm:
    return make_farm(2)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def login_as(app: Flask) -> Callable[[str], FlaskClient]:
    """A fresh logged-in client for an email (each call gets its own cookie jar)."""
    return lambda email: login(app.test_client(), email)
