"""Keep credentials of bundle URLs out of everything the sidecar shows or stores.

A bundle URL may carry credentials in its userinfo (``https://user:token@host/b.tar.gz``), in its
query string (presigned S3 URLs carry ``X-Amz-Signature``, ``X-Amz-Credential`` and
``X-Amz-Security-Token``; others a plain ``?token=``) or in its fragment. The real URL is used only
to fetch; every name shown for a source — metric labels, status answers, log lines, error
messages (urllib may echo a URL), persisted metadata — passes through ``redact``, which rewrites
every URL found in a text: userinfo becomes ``***``, each query value ``***`` (a parameter
without a value is replaced whole) and a fragment ``#***``. Names of query parameters stay, so an
operator can still tell two sources apart.
"""

from __future__ import annotations

import re

MASK = "***"

_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^\s\"'<>`]*[^\s\"'<>`:,.;)\]])?")
"""A URL inside free text: a scheme, then everything up to whitespace or a quote, without the
punctuation that ends a sentence or precedes a message (``URL: HTTP 403``)."""


def redact(text: str) -> str:
    """Every URL in ``text`` with its userinfo, query values and fragment masked.

    ``https://u:p@host/b.tar.gz?X-Amz-Signature=abc&v=1#frag`` ->
    ``https://***@host/b.tar.gz?X-Amz-Signature=***&v=***#***``. Text that is not a URL (a local
    path, even one with an ``@``) is left alone.
    """
    if "://" not in text:
        return text
    return _URL.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    return match.group(1) + _redact_rest(match.group(2) or "")


def _redact_rest(rest: str) -> str:
    """The part of a URL after ``scheme://``: authority, path, query and fragment."""
    rest, hash_sign, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if "@" in authority:
        authority = MASK + "@" + authority.rpartition("@")[2]
    redacted = authority + path
    if question:
        redacted += "?" + _redact_query(query)
    if hash_sign:
        redacted += "#" + (MASK if fragment else "")
    return redacted


def _redact_query(query: str) -> str:
    if not query:
        return ""
    parts = []
    for parameter in re.split(r"([&;])", query):
        if parameter in ("&", ";") or not parameter:
            parts.append(parameter)
            continue
        name, equals, _value = parameter.partition("=")
        parts.append(f"{name}={MASK}" if equals else MASK)
    return "".join(parts)
