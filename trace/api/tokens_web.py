"""Token pages: admins issue inspector tokens, farmers their integration tokens; anyone
with tokens sees when each was last used and can revoke it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import EmailField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from trace.db import get_session
from trace.errors import NotFound, ValidationError
from trace.i18n import _l
from trace.models import Role
from trace.models.base import utcnow
from trace.models.tokens import Scope
from trace.services import tokens
from trace.web.forms import ActionForm, Form
from trace.web.guards import actor, roles

bp = Blueprint("tokens", __name__, url_prefix="/tokens", template_folder="templates")
SCOPE_LABELS = {
    Scope.READ: _l("read: look up stamps, lots, events, exports"),
    Scope.RECALL: _l("recall: recall lots"),
    Scope.CAPTURE: _l("capture: send EPCIS events and inspection results"),
    Scope.MINT: _l("mint: mint stamps for your own lots"),
    Scope.ADMIN: _l("admin: manage alert webhook subscriptions"),
}


class TokenForm(Form):
    """A new token: for whom (admins only), what it may do, how long, what for."""

    owner = EmailField(_l("Account email (inspector, admin or farmer)"))
    scopes = SelectMultipleField(
        _l("Scopes"), widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    expires_days = IntegerField(
        _l("Expires after (days, empty for never)"), validators=[Optional()]
    )
    label = StringField(_l("Label (what the token is for)"))


def token_form() -> TokenForm:
    """The issuing form, offering the scopes the logged-in user's tokens may have."""
    form = TokenForm()
    allowed = tokens.ROLE_SCOPES.get(current_user.role, frozenset())
    form.scopes.choices = [(s.value, SCOPE_LABELS[s]) for s in Scope if s in allowed]
    return form


@bp.get("")
@roles(Role.ADMIN, Role.INSPECTOR, Role.FARMER)
def index() -> ResponseReturnValue:
    """The tokens the user manages, and the form to issue one."""
    return _page(token_form())


@bp.post("")
@roles(Role.ADMIN, Role.FARMER)
def issue() -> ResponseReturnValue:
    """Issue a token and show its secret, this once (the page is not cached)."""
    form = token_form()
    if not form.validate_on_submit():
        return _page(form, status=422)
    owner = form.owner.data if current_user.role == Role.ADMIN else current_user.email
    try:
        issued = tokens.issue_token(
            get_session(),
            actor(),
            owner or "",
            form.scopes.data or [],
            form.expires_days.data,
            form.label.data or "",
        )
    except ValidationError as error:
        return _page(form, errors=form.attach(error.errors), status=422)
    except NotFound:
        form.owner.errors = [str(_l("No active account with this email."))]
        return _page(form, status=422)
    response = _page(token_form(), issued=issued)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:token_id>/revoke")
@roles(Role.ADMIN, Role.INSPECTOR, Role.FARMER)
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke a token at once."""
    if ActionForm().validate_on_submit():
        tokens.revoke_token(get_session(), actor(), token_id)
        flash(_l("The token was revoked; it stops working at once."))
    return redirect(url_for("tokens.index"))


def _page(
    form: TokenForm,
    issued: tokens.IssuedToken | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    rows = tokens.list_tokens(get_session(), actor())
    body = render_template(
        "tokens/index.html",
        form=form,
        action_form=ActionForm(),
        rows=rows,
        issued=issued,
        errors=errors or [],
        now=utcnow(),
        can_issue=current_user.role in (Role.ADMIN, Role.FARMER),
        is_admin=current_user.role == Role.ADMIN,
    )
    return make_response(body, status)


def init_app(app: Flask) -> None:
    """Register the token pages."""
    app.register_blueprint(bp)
