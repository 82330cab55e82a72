"""Pages of decisions: sizes, byte budget and page tokens, for every answer that lists decisions.

A 100,000-photo answer in one message breaks gRPC (4 MiB by default) and makes both sides hold
it whole; answers carry one page instead. A page is cut by count (``page_size``) and by size
(``PAGE_BYTES``), so a page of photos with many faces still fits one gRPC message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Sequence

from ..errors import InvalidArgument
from ..records import Decision
from ..v1 import autocull_pb2 as pb
from .convert import decision_to_pb

DEFAULT_PAGE = 1000
MAX_PAGE = 2000
# gRPC refuses a message over 4 MiB by default: the decisions stay well under it, leaving room for
# the rest of the answer (counts, job fields) and for clients that kept the default.
PAGE_BYTES = 3 * 1024 * 1024


def page_size(requested: int) -> int:
    """The page size a request asked for: 0 = the default, capped at MAX_PAGE."""
    if requested < 0:
        raise InvalidArgument(f"page_size must be 0 (the default, {DEFAULT_PAGE}) or positive, not {requested}")
    return min(requested or DEFAULT_PAGE, MAX_PAGE)


def pack(d: Decision) -> bytes:
    """A decision as the serialized protobuf answers are made of (how jobs keep them: compact)."""
    return decision_to_pb(d).SerializeToString()


def page_of(packed: Sequence[bytes], size: int) -> list[pb.Decision]:
    """The first decisions of ``packed``: at most ``size``, and no more than PAGE_BYTES together
    (yet never none when there is one: a single decision is always sent, however large)."""
    out: list[pb.Decision] = []
    used = 0
    for blob in packed[:size]:
        used += len(blob) + 8  # with its field tag and length prefix, generously
        if out and used > PAGE_BYTES:
            break
        out.append(pb.Decision.FromString(blob))
    return out


def fingerprint(paths: Sequence[str], top_level_only: bool) -> str:
    """What a page token is bound to: the set of photos the request names (not the policy, so a
    what-if with other overrides may page through the same photos)."""
    raw = json.dumps([list(paths), bool(top_level_only)], ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:16]


def encode_token(payload: dict[str, Any]) -> str:
    """An opaque token (clients pass it back as it came)."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The payload of a token made by :func:`encode_token`; anything else is INVALID_ARGUMENT."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, binascii.Error, UnicodeError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidArgument("bad page_token: pass back next_page_token exactly as it came")
    return payload


def decide_token(after: str, request_fingerprint: str) -> str:
    """Decide's next page starts after this path (keyset paging over paths in order: a photo added or
    removed between two pages moves no other photo across a page boundary, so none is lost or sent twice)."""
    return encode_token({"after": after, "req": request_fingerprint})


def read_decide_token(token: str, request_fingerprint: str) -> str:
    """The path the page starts after ("" = the first page)."""
    if not token:
        return ""
    payload = decode_token(token)
    after = payload.get("after")
    if payload.get("req") != request_fingerprint or not isinstance(after, str) or not after:
        raise InvalidArgument(
            "page_token belongs to another request: send the same paths and top_level_only with every page"
        )
    return after
