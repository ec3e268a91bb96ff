"""Field checks shared by the services; each collects messages and raises them together."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from trace import gs1
from trace.errors import ValidationError
from trace.i18n import _l

PHONE_RE = re.compile(r"^\+?[0-9][0-9 .-]{7,18}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REGISTRATION_RE = re.compile(r"^[0-9]{10}(-[0-9]{3})?$|^[0-9]{12}$")


class Checks:
    """Collects field errors; ``done()`` raises them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def fail(self, field: str, message: Any) -> None:
        self.errors.setdefault(field, message)

    def text(self, field: str, value: str | None, max_length: int, required: bool = True) -> str:
        value = (value or "").strip()
        if required and not value:
            self.fail(field, _l("This field is required."))
        elif len(value) > max_length:
            self.fail(field, _l("At most %(n)d characters.", n=max_length))
        return value

    def choice(self, field: str, value: str | None, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.fail(field, _l("Choose one of the listed options."))
            return ""
        return value

    def positive(self, field: str, value: Any, maximum: Decimal | None = None) -> Decimal:
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.fail(field, _l("Enter a number."))
            return Decimal(0)
        if not number.is_finite() or number <= 0:
            self.fail(field, _l("Must be greater than zero."))
        elif maximum is not None and number > maximum:
            self.fail(field, _l("Must be at most %(n)s.", n=maximum))
        return number

    def coordinate(self, field: str, value: Any, limit: float) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(field, _l("Enter a number."))
            return 0.0
        if not -limit <= number <= limit:
            self.fail(field, _l("Must be between -%(n)s and %(n)s.", n=limit))
        return number

    def not_future(self, field: str, value: date | None, today: date) -> None:
        if value is None:
            self.fail(field, _l("Enter a date."))
        elif value > today:
            self.fail(field, _l("The date cannot be in the future."))

    def phone(self, field: str, value: str | None) -> str:
        value = (value or "").strip()
        if not PHONE_RE.match(value):
            self.fail(field, _l("Enter a phone number, e.g. 0912 345 678."))
        return value

    def email(self, field: str, value: str | None) -> str:
        value = (value or "").strip().lower()
        if not EMAIL_RE.match(value) or len(value) > 254:
            self.fail(field, _l("Enter a valid email address."))
        return value

    def registration_number(self, field: str, value: str | None) -> str:
        value = (value or "").strip()
        if not REGISTRATION_RE.match(value):
            self.fail(
                field, _l("Enter a 10-digit tax code (optionally -NNN) or a 12-digit ID number.")
            )
        return value

    def optional_gln(self, field: str, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not gs1.is_valid_gln(value):
            self.fail(field, _l("A GLN has 13 digits and a valid check digit."))
        return value or None

    def optional_company_prefix(self, field: str, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not gs1.is_valid_company_prefix(value):
            self.fail(field, _l("A GS1 company prefix has 6 to 12 digits."))
        return value or None

    def lot_code(self, field: str, value: str | None) -> str:
        value = (value or "").strip()
        if not value:
            self.fail(field, _l("This field is required."))
        elif gs1.validate_lot_code(value) is not None:
            self.fail(
                field,
                _l("At most 20 characters: letters, digits and the GS1 symbols such as - . /"),
            )
        return value

    def aware_time(self, field: str, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is None:
            self.fail(field, _l("Enter a time with its time zone."))
            return None
        return value

    def done(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
