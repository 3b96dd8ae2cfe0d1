"""W3C Trace Context: the trace id of a ``traceparent`` (gRPC metadata, or an HTTP header via Envoy).

The trace id goes into the decision log line, so a decision can be found from a distributed
trace. Only a well-formed ``traceparent`` counts (https://www.w3.org/TR/trace-context/): a
malformed or all-zero one is ignored, never an error, since tracing must not change a decision.
The metadata is read only when a decision log is on.
"""

from __future__ import annotations

import re
from typing import Any

TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\Z", re.DOTALL)
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


def trace_id(traceparent: str) -> str:
    """The 32-hex-digit trace id of a valid ``traceparent``, else ``""``."""
    found = _TRACEPARENT.match(traceparent.strip()) if len(traceparent) <= 512 else None
    if found is None:
        return ""
    version, trace, parent, _flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest) or trace == _ZERO_TRACE or parent == _ZERO_PARENT:
        return ""
    return trace


def from_context(context: Any) -> str:
    """The trace id of a gRPC call's ``traceparent`` metadata, else ``""``."""
    metadata = getattr(context, "invocation_metadata", None)
    if metadata is None:
        return ""
    for key, value in metadata() or ():
        if key == TRACEPARENT and isinstance(value, str):
            return trace_id(value)
    return ""
