"""Reading condition values as the operator families require.

The same readers validate policy documents at load and convert request values at evaluation, so
a value is never accepted in one place and read differently in the other.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import UTC, datetime

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EPOCH = re.compile(r"[+-]?\d+(?:\.\d+)?")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def read_number(text: str) -> float | None:
    """A decimal number (integer or with a fraction); ``None`` if the text is not one."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    return float(text)


def read_date(text: str) -> float | None:
    """Seconds since the epoch from ISO 8601 (date, date-time, with or without offset) or epoch seconds.

    A date-time without an offset is read as UTC, as AWS does.
    """
    text = text.strip()
    if not text:
        return None
    if _EPOCH.fullmatch(text):
        return float(text)
    candidate = text
    if _DATE_ONLY.fullmatch(candidate):
        candidate += "T00:00:00"
    elif (compact := _COMPACT_DATE.fullmatch(candidate)) is not None:
        candidate = "-".join(compact.groups()) + "T00:00:00"
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def read_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def read_network(text: str) -> IpNetwork | None:
    """An IPv4 or IPv6 CIDR block, or a single address (a /32 or /128)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def read_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        network = read_network(text)
        return network.network_address if network is not None and network.num_addresses == 1 else None


def read_binary(text: str) -> bytes | None:
    """Base64 text as bytes; ``None`` if it is not valid base64."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
