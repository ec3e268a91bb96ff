"""Registration, login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from trace.db import get_session
from trace.errors import ValidationError
from trace.i18n import LANG_COOKIE, _l
from trace.models import Role
from trace.services import accounts
from trace.services.producers import ProducerProfile
from trace.web.forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Home: the login-aware entry point."""
    if not current_user.is_authenticated:
        return render_template("index.html")
    if current_user.role == Role.ADMIN:
        return redirect(url_for("admin.producers"))
    if current_user.role == Role.INSPECTOR:
        return redirect(url_for("admin.producers"))
    return redirect(url_for("farm.dashboard"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """A farmer registers their producer and their login in one form."""
    form = RegisterForm()
    errors: list[str] = []
    if form.validate_on_submit():
        registration = accounts.Registration(
            email=form.email.data or "",
            password=form.password.data or "",
            full_name=form.full_name.data or "",
            profile=profile_from(form),
        )
        try:
            user = accounts.register_producer(
                get_session(), registration, current_app.config["PASSWORD_HASH_METHOD"]
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            login_user(user)
            flash(_l("Registration received. An administrator will review your producer."))
            return redirect(url_for("farm.dashboard"))
    return render_template("auth/register.html", form=form, errors=errors), _status(form)


def profile_from(form: RegisterForm) -> ProducerProfile:
    """The profile fields of a registration or profile form, as plain values."""
    return ProducerProfile(
        name=form.name.data or "",
        kind=form.kind.data or "",
        registration_number=form.registration_number.data or "",
        address_line=form.address_line.data or "",
        commune=form.commune.data or "",
        district=form.district.data or "",
        province=form.province.data or "",
        phone=form.phone.data or "",
        gln=form.gln.data,
        company_prefix=form.company_prefix.data,
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Email and password login."""
    form = LoginForm()
    errors: list[str] = []
    if form.validate_on_submit():
        user = accounts.authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
        errors = [str(_l("Wrong email or password."))]
    return render_template("auth/login.html", form=form, errors=errors), 401 if errors else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    logout_user()
    return redirect(url_for("auth.index"))


@bp.get("/lang/<code>")
def switch_language(code: str) -> ResponseReturnValue:
    """Remember the chosen language in a cookie and go back to the page."""
    response = redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths, so the parameter cannot redirect users elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _status(form: RegisterForm) -> int:
    return 422 if form.has_errors() else 200
