"""Webhook signatures: a receiver holding the secret can tell a delivery is ours and fresh."""

from __future__ import annotations

from trace.alerts.signing import sign, signature, verify

BODY = b'{"id":1,"kind":"recall"}'
SECRET = "whsec_test-secret-0123456789"


def test_a_signed_body_verifies_with_the_same_secret() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(SECRET, header, BODY, now=1_700_000_010)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1_700_000_000, BODY) == expected
    assert sign(SECRET, BODY, timestamp=1_700_000_000) == f"t=1700000000,v1={expected}"


def test_a_wrong_secret_fails_verification() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify("whsec_someone-elses-secret", header, BODY, now=1_700_000_000)


def test_a_changed_body_or_timestamp_fails_verification() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify(SECRET, header, BODY.replace(b"recall", b"flag"), now=1_700_000_000)
    forged = header.replace("t=1700000000", "t=1700000001")
    assert not verify(SECRET, forged, BODY, now=1_700_000_000)


def test_an_old_delivery_cannot_be_replayed() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify(SECRET, header, BODY, now=1_700_000_000 + 301)
    assert verify(SECRET, header, BODY, tolerance=600, now=1_700_000_000 + 301)


def test_malformed_headers_are_not_valid() -> None:
    for header in ("", "v1=abc", "t=1700000000", "t=soon,v1=abc", "garbage"):
        assert not verify(SECRET, header, BODY, now=1_700_000_000)


def test_any_of_several_signatures_may_match() -> None:
    good = signature(SECRET, 1_700_000_000, BODY)
    header = f"t=1700000000,v1={'0' * 64},v1={good}"
    assert verify(SECRET, header, BODY, now=1_700_000_000)
