"""Web forms (Flask-WTF for CSRF and rendering); the services own the validation rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from trace.i18n import _l
from trace.models import CertificationScheme, EventKind, ProducerKind

TIME_ZONES = [(f"{h:+03d}:00", f"UTC{h:+03d}:00") for h in range(-12, 15)]
VIETNAM_TZ = "+07:00"


class Form(FlaskForm):
    """A form whose service errors can be put back next to its fields."""

    def attach(self, errors: Mapping[str, Any]) -> list[str]:
        """Show each service error under its field; return those with no field here."""
        unplaced = []
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None:
                unplaced.append(str(message))
            elif not field.errors:
                field.errors = [str(message)]
        return unplaced

    def has_errors(self) -> bool:
        return any(field.errors for field in self)


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def _select(label: Any, pairs: list[tuple[str, Any]], **kwargs: Any) -> SelectField:
    return SelectField(label, choices=choices(pairs), validate_choice=False, **kwargs)


KIND_LABELS = {
    ProducerKind.HOUSEHOLD: _l("Farming household"),
    ProducerKind.COOPERATIVE: _l("Cooperative"),
    ProducerKind.COMPANY: _l("Company"),
}
SCHEME_LABELS = {
    CertificationScheme.VIETGAP: "VietGAP",
    CertificationScheme.GLOBALGAP: "GlobalG.A.P.",
    CertificationScheme.ORGANIC: _l("Organic"),
    CertificationScheme.OCOP: "OCOP",
}
CATEGORY_LABELS = {
    "fruit": _l("Fruit"),
    "vegetable": _l("Vegetables"),
    "grain": _l("Rice and grains"),
    "seafood": _l("Seafood"),
    "processed": _l("Processed food"),
    "other": _l("Other"),
}
UNIT_LABELS = {
    "kg": "kg",
    "tonne": _l("tonne"),
    "box": _l("box"),
    "bag": _l("bag"),
    "piece": _l("piece"),
    "litre": _l("litre"),
}
EVENT_LABELS = {
    EventKind.PLANTING: _l("Planting"),
    EventKind.INPUT_APPLICATION: _l("Input application"),
    EventKind.HARVEST: _l("Harvest"),
    EventKind.COOLING: _l("Cooling"),
    EventKind.INITIAL_PACKING: _l("Initial packing"),
    EventKind.SHIPPING: _l("Shipping"),
    EventKind.RECEIVING: _l("Receiving"),
    EventKind.TRANSFORMATION: _l("Transformation"),
    EventKind.INSPECTION: _l("Inspection"),
    "recall": _l("Recall"),  # recorded by an inspector's recall (trace.services.recall) only
    "captured": _l("Supply-chain event"),  # captured EPCIS event of no registry kind
}


class ProfileForm(Form):
    name = StringField(_l("Producer name"))
    kind = _select(_l("Type"), list(KIND_LABELS.items()))
    registration_number = StringField(_l("Tax code or business registration number"))
    address_line = StringField(_l("Address (village, street)"))
    commune = StringField(_l("Commune / ward"))
    district = StringField(_l("District"))
    province = StringField(_l("Province"), default="Long An")
    phone = StringField(_l("Phone"), render_kw={"type": "tel", "autocomplete": "tel"})
    gln = StringField(_l("GLN (optional)"), render_kw={"inputmode": "numeric"})
    company_prefix = StringField(
        _l("GS1 company prefix (optional)"), render_kw={"inputmode": "numeric"}
    )


class RegisterForm(ProfileForm):
    full_name = StringField(_l("Your full name"), render_kw={"autocomplete": "name"})
    email = EmailField(_l("Email"), render_kw={"autocomplete": "email"})
    password = PasswordField(
        _l("Password (at least 12 characters)"), render_kw={"autocomplete": "new-password"}
    )


class LoginForm(Form):
    email = EmailField(_l("Email"), render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"})


class PasswordChangeForm(Form):
    current_password = PasswordField(
        _l("Current password"), render_kw={"autocomplete": "current-password"}
    )
    password = PasswordField(
        _l("New password (at least 12 characters)"), render_kw={"autocomplete": "new-password"}
    )


class PlotForm(Form):
    name = StringField(_l("Plot name"))
    area_ha = StringField(_l("Area (hectares)"), render_kw={"inputmode": "decimal"})
    latitude = StringField(_l("Latitude"), render_kw={"inputmode": "decimal"})
    longitude = StringField(_l("Longitude"), render_kw={"inputmode": "decimal"})


class CertificationForm(Form):
    scheme = _select(_l("Scheme"), list(SCHEME_LABELS.items()))
    ocop_stars = _select(_l("OCOP stars"), [("", "—"), ("3", "3★"), ("4", "4★"), ("5", "5★")])
    number = StringField(_l("Certificate number"))
    issuer = StringField(_l("Issued by"))
    valid_from = StringField(_l("Valid from"), render_kw={"type": "date"})
    valid_to = StringField(_l("Valid to"), render_kw={"type": "date"})
    pdf = FileField(_l("Certificate (PDF, up to 5 MB)"), render_kw={"accept": "application/pdf"})
    product_ids = SelectMultipleField(_l("Products it covers"), choices=[], validate_choice=False)
    producer_wide = BooleanField(_l("It covers all my products"))


class ProductForm(Form):
    name_vi = StringField(_l("Name in Vietnamese"))
    name_en = StringField(_l("Name in English"))
    category = _select(_l("Category"), list(CATEGORY_LABELS.items()))
    unit = _select(_l("Unit"), list(UNIT_LABELS.items()))
    gtin = StringField(
        _l("GTIN (leave empty to generate one from your company prefix)"),
        render_kw={"inputmode": "numeric"},
    )


class LotForm(Form):
    product_id = _select(_l("Product"), [])
    code = StringField(_l("Lot code"), render_kw={"autocapitalize": "characters"})
    harvest_date = StringField(_l("Harvest date"), render_kw={"type": "date"})
    quantity = StringField(_l("Quantity"), render_kw={"inputmode": "decimal"})
    unit = _select(_l("Unit"), list(UNIT_LABELS.items()))
    plot_id = _select(_l("Plot"), [])


class EventForm(Form):
    occurred_at = StringField(_l("Time"), render_kw={"type": "datetime-local"})
    tz = _select(_l("Time zone"), TIME_ZONES, default=VIETNAM_TZ)
    place = StringField(_l("Place"))
    note = TextAreaField(_l("Note"))
    input_name = StringField(_l("Input (fertiliser, pesticide) name"))
    dose = StringField(_l("Dose (e.g. 20 ml / 16 l water)"))
    phi_days = StringField(_l("Pre-harvest interval (days)"), render_kw={"inputmode": "numeric"})
    variety = StringField(_l("Variety"))
    temperature_c = StringField(_l("Temperature (°C)"), render_kw={"inputmode": "decimal"})
    destination = StringField(_l("Shipped to"))
    source = StringField(_l("Received from"))
    result = _select(_l("Result"), [("pass", _l("Pass")), ("fail", _l("Fail"))])


class TransformForm(Form):
    input_lot_ids = SelectMultipleField(_l("Input lots"), choices=[], validate_choice=False)
    product_id = _select(_l("Output product"), [])
    code = StringField(_l("New lot code"))
    quantity = StringField(_l("Quantity"), render_kw={"inputmode": "decimal"})
    unit = _select(_l("Unit"), list(UNIT_LABELS.items()))
    occurred_at = StringField(_l("Time"), render_kw={"type": "datetime-local"})
    tz = _select(_l("Time zone"), TIME_ZONES, default=VIETNAM_TZ)
    place = StringField(_l("Place"))


class InspectorForm(Form):
    full_name = StringField(_l("Full name"))
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Initial password (at least 12 characters)"))


class ActionForm(Form):
    """A bodiless POST (approve, suspend): the form exists for its CSRF token."""


def parse_date(field: Field) -> date | None:
    """The field's ISO date, or None with a message on the field."""
    try:
        return date.fromisoformat((field.data or "").strip())
    except ValueError:
        field.errors = [*list(field.errors or []), str(_l("Enter a date as YYYY-MM-DD."))]
        return None


def parse_local_time(field: Field, tz_field: Field) -> datetime | None:
    """The datetime-local value in the chosen UTC offset, or None with a message."""
    try:
        naive = datetime.fromisoformat((field.data or "").strip())
        sign = -1 if tz_field.data.startswith("-") else 1
        hours, minutes = (int(part) for part in tz_field.data.lstrip("+-").split(":"))
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    except (ValueError, AttributeError):
        field.errors = [*list(field.errors or []), str(_l("Enter a date and time."))]
        return None
    return naive.replace(tzinfo=zone)


def int_or_none(value: Any) -> int | None:
    """An id from a select, or None when empty or not a number."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None
