"""WhoCan and WhatCan on the sidecar: the bundle layer's access questions, paginated and bounded.

The answer to one question on one revision is computed once (bounded by
``max_access_query_evaluations`` and the expensive-call time budget) and kept in a small
per-process LRU, so that later pages cost no evaluation. An answer of a revision whose policies
read the clock (``aws:CurrentTime``, ``aws:EpochTime``) is kept for the second it was computed in
only: a grant that expires must not be listed from memory after its deadline. A page token is
opaque to callers but not secret: it names the revision, a digest of the question and an offset.
A token of another revision or question is refused (INVALID_ARGUMENT): pages of two revisions must
never be mixed into one answer. Nothing is signed: a forged offset only selects another slice of an answer the
caller may read anyway, and every worker process (``--workers``) reads the same tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from iamgate.bundle.access import CONDITIONAL, AccessAnswer, AccessRow
from iamgate.engine.errors import RequestError
from iamgate.policy.json_text import JsonTextError, load_strict
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
CACHED_ROWS = 20_000
"""Rows of answers kept per process (least recently used first out): a few callers paging at once.

An answer larger than this is not kept; its later pages are computed again."""
QUESTION_TEXT_KEPT = 1024
"""A question whose texts (action and resource, or principal and service) are longer than this
together is answered afresh for every page, never kept.

The cache is bounded by rows, and an answer with no rows counts as one: WhoCan with 60 KB actions
kept each answer with its text (150 questions: 8.6 MB; 20,000 of them would hold 1.2 GB)."""
_TOKEN_VERSION = 1


@dataclass(frozen=True, slots=True)
class Page:
    revision: str
    grants: list[pb.AccessGrant]
    next_page_token: str
    answer: AccessAnswer


def question_digest(*parts: str) -> str:
    """A short digest of the question a token belongs to (method and every field but paging)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def page_size(requested: int) -> int:
    if requested < 0:
        raise RequestError("page_size", f"must not be negative (got {requested})")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(revision: str, question: str, offset: int) -> str:
    data = json.dumps({"v": _TOKEN_VERSION, "r": revision, "q": question, "o": offset}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_token(token: str, revision: str, question: str) -> int:
    """The offset a token of this revision and question points at; RequestError otherwise."""
    if not token:
        return 0
    if len(token) > 1024:
        raise RequestError("page_token", "is not a token this sidecar issued (too long)")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = load_strict(raw)
        version, token_revision, token_question, offset = data["v"], data["r"], data["q"], data["o"]
    except (JsonTextError, ValueError, TypeError, KeyError):
        raise RequestError("page_token", "is not a token this sidecar issued") from None
    if version != _TOKEN_VERSION or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise RequestError("page_token", "is not a token this sidecar issued")
    if token_revision != revision:
        raise RequestError(
            "page_token",
            f"was issued for revision {token_revision!r}, but revision {revision!r} is active now; "
            "ask again without a page_token",
        )
    if token_question != question:
        raise RequestError(
            "page_token", "was issued for another question; pass the same fields as its first page"
        )
    return offset


def grant(row: AccessRow) -> pb.AccessGrant:
    status = pb.ACCESS_STATUS_CONDITIONAL if row.status == CONDITIONAL else pb.ACCESS_STATUS_ALLOWED
    return pb.AccessGrant(
        principal=row.principal,
        action=row.action,
        resource=row.resource,
        status=status,
        statements=list(row.statements),
        conditions=list(row.conditions),
    )


class AnswerCache:
    """The last few answers, keyed by (revision, question): later pages are read, not recomputed."""

    def __init__(self, rows: int = CACHED_ROWS) -> None:
        self._lock = threading.Lock()
        self._answers: LRUCache[Hashable, AccessAnswer] = LRUCache(maxsize=rows, getsizeof=_rows)

    def answer(
        self, key: Hashable, compute: Callable[[], AccessAnswer], *, keep: bool = True
    ) -> AccessAnswer:
        """The kept answer to ``key`` if it still holds (one that read the clock holds for its
        second only: a grant with ``DateLessThan`` must not outlive its deadline), else a new one
        (kept for the next page unless ``keep`` is false: a question of caller text too long)."""
        if not keep:
            return compute()
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and (cached.second is None or cached.second == int(time.time())):
            return cached
        answer = compute()  # outside the lock: two callers may compute the same answer once each
        if _rows(answer) <= self._answers.maxsize:
            with self._lock:
                self._answers[key] = answer
        return answer

    @property
    def rows(self) -> int:
        """Rows held now (``currsize``), never more than the bound."""
        return int(self._answers.currsize)


def _rows(answer: AccessAnswer) -> int:
    return len(answer.rows) + 1


def question_chars(request: Any) -> int:
    """Characters of the question's own texts: every string field but the page token."""
    return sum(
        len(value)
        for field, value in request.ListFields()
        if field.name != "page_token" and isinstance(value, str)
    )


def page(
    cache: AnswerCache,
    snapshot: Any,
    question: str,
    request: Any,
    compute: Callable[[], AccessAnswer],
) -> Page:
    """One page of the answer to ``question`` on ``snapshot``, as the request's paging fields ask."""
    size = page_size(request.page_size)
    offset = decode_token(request.page_token, snapshot.revision, question)
    keep = question_chars(request) <= QUESTION_TEXT_KEPT
    answer = cache.answer((snapshot.revision, id(snapshot), question), compute, keep=keep)
    rows = answer.rows[offset : offset + size]
    end = offset + len(rows)
    token = encode_token(snapshot.revision, question, end) if end < len(answer.rows) else ""
    return Page(snapshot.revision, [grant(row) for row in rows], token, answer)
