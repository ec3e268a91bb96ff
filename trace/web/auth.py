"""Registration, login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user

from trace.db import get_session
from trace.errors import ValidationError
from trace.i18n import LANG_COOKIE, _l
from trace.models import Role
from trace.services import accounts
from trace.services.producers import ProducerProfile
from trace.web import throttle
from trace.web.forms import LoginForm, PasswordChangeForm, RegisterForm

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
    """A farmer registers their producer and their login in one form.

    A new email and one that already has an account get the same answer (the login
    page and one neutral message), so the form cannot tell anyone who has an account.
    """
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
            accounts.register_producer(
                get_session(), registration, current_app.config["PASSWORD_HASH_METHOD"]
            )
        except accounts.EmailTaken:
            pass  # answered exactly like a new account, below
        except ValidationError as error:
            errors = form.attach(error.errors)
        if not form.has_errors() and not errors:
            flash(REGISTERED)
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form, errors=errors), _status(form)


REGISTERED = _l(
    "Thank you. If this email had no account yet, your account is ready: log in below. "
    "If it already had one, log in with that account's password. An administrator "
    "reviews every new producer before lots can be recorded."
)


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
    """Email and password login, throttled per client and per account (``throttle``).

    A browser that logged in to the account before (its device cookie) is throttled as
    that device instead of the account, so nobody can lock a farmer out of it.
    """
    form = LoginForm()
    errors: list[str] = []
    if form.validate_on_submit():
        email, lockout = form.email.data or "", throttle.lockout()
        device = throttle.trusted_device(email)
        wait = lockout.seconds_left(email, device)
        if wait:  # even the right password waits: the lockout is what stops guessing
            return throttle.too_many_logins(form, wait, device)
        user = accounts.authenticate(get_session(), email, form.password.data or "", _hash_method())
        if user is not None:
            lockout.succeeded(email, device)
            login_user(user)
            target = _safe_next(request.args.get("next")) or url_for("auth.index")
            return throttle.remember_device(redirect(target), email)
        lockout.failed(email, device)
        errors = [str(_l("Wrong email or password."))]
    return render_template("auth/login.html", form=form, errors=errors), 401 if errors else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session, here and everywhere: old copies of the cookie stop working."""
    if current_user.is_authenticated:
        accounts.end_sessions(get_session(), current_user.id)
    logout_user()
    return redirect(url_for("auth.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change one's password; every other session of the account ends."""
    form = PasswordChangeForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                get_session(),
                current_user.id,
                form.current_password.data or "",
                form.password.data or "",
                _hash_method(),
            )
        except ValidationError as error:
            errors = form.attach(error.errors)
        else:
            login_user(user)  # this session goes on with the new session version
            flash(_l("Password changed. Every other session of your account has ended."))
            return redirect(url_for("auth.index"))
    status = 422 if form.has_errors() or errors else 200
    return render_template("auth/password.html", form=form, errors=errors), status


@bp.errorhandler(RateLimitExceeded)
def _throttled(error: RateLimitExceeded) -> ResponseReturnValue:
    # The limiter's on_breach callbacks built the page (login form or error page).
    return error.get_response()


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


def _hash_method() -> str:
    return str(current_app.config["PASSWORD_HASH_METHOD"])


def _status(form: RegisterForm) -> int:
    return 422 if form.has_errors() else 200
