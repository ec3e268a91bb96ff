"""The password rule (NIST SP 800-63B): long enough, not common, not the user's own email."""

from __future__ import annotations

import string
import unicodedata
from functools import cache
from pathlib import Path

from trace.i18n import _l
from trace.services.checks import Checks

MIN_LENGTH = 12
#: NIST asks verifiers to allow at least 64 characters; this only bounds hashing work.
MAX_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
#: Words anyone would guess for this service (the name, "password" in Vietnamese).
CONTEXT_WORDS = frozenset({"agritrace", "matkhau", "password", "truyxuat", "nongsan"})
#: Keyboard and alphabet runs: a password that is a piece of one is guessed first.
RUNS = ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")
_EDGE = string.digits + string.punctuation + " "


def check_password(checks: Checks, password: str | None, email: str | None) -> None:
    """Put the password's first fault, if any, on the ``password`` field of ``checks``.

    :param checks: the caller's field checks.
    :param password: the password as typed.
    :param email: the account's email; its local part may not appear in the password.
    """
    message = password_problem(password or "", email or "")
    if message is not None:
        checks.fail("password", message)


def password_problem(password: str, email: str) -> object | None:
    """The reason ``password`` is refused for ``email`` (lazy translated text), or None."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    folded = _fold(password)
    local = _fold(email.partition("@")[0])
    if len(local) >= 3 and local in folded:
        return _l("Do not use your email address in the password.")
    if is_guessable(folded):
        return _l(
            "This password is too common or too easy to guess. "
            "Try a few unrelated words, e.g. a short sentence only you would write."
        )
    return None


def is_guessable(folded: str) -> bool:
    """Whether a folded password is common, a common one with digits or symbols around it,
    a repeated pattern or a keyboard/alphabet run."""
    core = folded.strip(_EDGE)
    common = common_passwords()
    if folded in common or core in common or core in CONTEXT_WORDS:
        return True
    if len(set(folded)) < 5:
        return True
    if any(folded == folded[:size] * (len(folded) // size) for size in _divisors(len(folded))):
        return True
    return any(folded in run or folded in run[::-1] for run in RUNS)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (read once)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _fold(text: str) -> str:
    """Compatibility-normalized (NFKC), lower case, without spaces: how lists are compared."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _divisors(length: int) -> list[int]:
    return [size for size in range(1, length // 2 + 1) if length % size == 0]
