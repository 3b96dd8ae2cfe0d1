"""Keep credentials out of logs, status answers and metric labels.

A bundle URL may carry credentials (``https://user:token@bundles.example.com/b.tar.gz``); it is
shown wherever a source is named, so every such place passes it through ``redact``.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """``https://user:secret@host/b.tar.gz`` -> ``https://***@host/b.tar.gz``."""
    return _USERINFO.sub(r"\1***@", text)
