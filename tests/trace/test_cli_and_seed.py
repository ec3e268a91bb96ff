"""Operator commands: migrate, seed the demo once, create users and their API tokens."""

from __future__ import annotations

from sqlmodel import Session, func, select

from trace.models import Event, Lot, Producer, Product, User


def test_seed_demo_creates_long_an_producers_once(runner, session: Session) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "thanhlong@demo.agritrace.vn" in result.output and "longan-demo-2026" in result.output
    districts = {p.district for p in session.exec(select(Producer))}
    assert districts == {"Huyện Châu Thành", "Huyện Bến Lức", "Huyện Cần Đước"}
    assert all(p.status == "approved" for p in session.exec(select(Producer)))
    assert session.exec(select(func.count()).select_from(Lot)).one() == 3
    assert session.exec(select(func.count()).select_from(Event)).one() >= 12
    again = runner.invoke(args=["seed-demo"])
    assert "already present" in again.output
    assert session.exec(select(func.count()).select_from(Product)).one() == 3


def test_demo_farmer_can_log_in_and_see_the_lot(runner, client) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(args=["seed-demo"])
    response = client.post(
        "/login", data={"email": "chanh@demo.agritrace.vn", "password": "longan-demo-2026"}
    )
    assert response.status_code == 302
    assert "CKH-2611-A" in client.get("/lots/").get_data(as_text=True)


def test_create_user_command(runner, session: Session) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["create-user", "Ops@Example.vn", "--role", "admin", "--password", "a long password"]
    )
    assert result.exit_code == 0, result.output
    assert session.exec(select(User).where(User.email == "ops@example.vn")).one().role == "admin"
    bad = runner.invoke(
        args=["create-user", "f@example.vn", "--role", "farmer", "--password", "a long password"]
    )
    assert bad.exit_code != 0 and "producer" in bad.output


def test_create_token_command_prints_a_token_the_api_accepts(runner, client) -> None:  # type: ignore[no-untyped-def]
    created = runner.invoke(
        args=[
            "create-user",
            "insp@example.vn",
            "--role",
            "inspector",
            "--password",
            "a long password",
        ]
    )
    assert created.exit_code == 0, created.output
    issued = runner.invoke(args=["create-token", "insp@example.vn", "--scope", "read"])
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/batches", headers=headers).status_code == 200
    assert client.get("/api/v1/batches").status_code == 401
    unknown = runner.invoke(args=["create-token", "nobody@example.vn", "--scope", "read"])
    assert unknown.exit_code != 0 and "No user" in unknown.output


def test_migrate_command_is_idempotent(runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["migrate"]).exit_code == 0
    assert runner.invoke(args=["migrate"]).exit_code == 0


def test_the_demo_has_a_label_sheet_to_scan(runner, client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from stamps.models import Stamp

    result = runner.invoke(args=["seed-demo"])
    links = [line.strip() for line in result.output.splitlines() if "/01/" in line]
    assert len(links) == 3, result.output
    active = session.exec(select(func.count()).select_from(Stamp).where(Stamp.status == "active"))
    assert active.one() == 3 * 24
    path = links[0].split("trace.example.vn", 1)[1]
    page = client.get(path + "?lang=en", headers={"User-Agent": "Mozilla/5.0"})
    assert page.status_code == 200 and "Genuine" in page.get_data(as_text=True)
