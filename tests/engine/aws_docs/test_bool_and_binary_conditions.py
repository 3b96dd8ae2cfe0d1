"""Bool and BinaryEquals, from "IAM JSON policy elements: Condition operators" (Boolean, Binary)."""

from __future__ import annotations

from .builders import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, allow_when, deny_when, entry

DOC_BINARY = "QmluYXJ5VmFsdWVJbkJhc2U2NA=="


def _secure(value: str):
    return entry("aws:SecureTransport", value, "boolean")


def test_bool_true_matches_a_true_request_value(decide):
    """Bool compares a key to "true" or "false"."""
    assert decide(allow_when({"Bool": {"aws:SecureTransport": "true"}}, _secure("true"))) == ALLOWED


def test_bool_true_does_not_match_a_false_request_value(decide):
    """Bool "true" does not match a request whose value is false."""
    assert decide(allow_when({"Bool": {"aws:SecureTransport": "true"}}, _secure("false"))) == IMPLICIT_DENY


def test_bool_reads_a_json_boolean_as_its_text(decide):
    """A JSON boolean in the policy means its string form, so true is "true"."""
    assert decide(allow_when({"Bool": {"aws:SecureTransport": True}}, _secure("true"))) == ALLOWED


def test_bool_deny_of_insecure_transport_denies_plain_http(decide):
    """The doc's BooleanExample: Deny s3:* when aws:SecureTransport is false."""
    assert decide(deny_when({"Bool": {"aws:SecureTransport": "false"}}, _secure("false"))) == EXPLICIT_DENY


def test_bool_deny_of_insecure_transport_spares_tls(decide):
    """The same Deny does not apply when the request was sent over TLS."""
    assert decide(deny_when({"Bool": {"aws:SecureTransport": "false"}}, _secure("true"))) == ALLOWED


def test_binary_equals_matches_the_same_base64_value(decide):
    """BinaryEquals compares the key's value byte for byte against a base-64 encoded value in the policy."""
    condition = {"BinaryEquals": {"aws:PrincipalTag/fingerprint": DOC_BINARY}}
    assert (
        decide(allow_when(condition, entry("aws:PrincipalTag/fingerprint", DOC_BINARY, "binary"))) == ALLOWED
    )


def test_binary_equals_rejects_different_bytes(decide):
    """BinaryEquals does not match a value whose bytes differ."""
    condition = {"BinaryEquals": {"aws:PrincipalTag/fingerprint": DOC_BINARY}}
    other = "QmluYXJ5VmFsdWVJbkJhc2U2NQ=="
    assert (
        decide(allow_when(condition, entry("aws:PrincipalTag/fingerprint", other, "binary"))) == IMPLICIT_DENY
    )


def test_binary_equals_is_false_when_key_missing(decide):
    """If the key is not present in the request context, BinaryEquals does not match."""
    assert decide(allow_when({"BinaryEquals": {"aws:PrincipalTag/fingerprint": DOC_BINARY}})) == IMPLICIT_DENY
