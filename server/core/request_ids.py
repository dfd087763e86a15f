"""Request ids: a caller's x-request-id when short and plain, else a fresh one (both transports)."""

from __future__ import annotations

import re
import uuid

# Echoed into logs and responses, so only short plain ids are taken from callers.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id(presented: str | None) -> str:
    if presented is not None and _ACCEPTED.fullmatch(presented):
        return presented
    return uuid.uuid4().hex
