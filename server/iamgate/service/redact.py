"""Keep credentials out of logs, status answers and metric labels.

A bundle URL may carry credentials (``https://user:token@bundles.example.com/b.tar.gz``, or a
presigned ``?X-Amz-Signature=...``); it is shown wherever a source is named, so every such place
passes it through ``redact`` — the bundle layer's one redaction function (``iamgate.bundle.redact``),
which the sources apply already to every name and error they produce.
"""

from __future__ import annotations

from iamgate.bundle.redact import redact

__all__ = ["redact"]
