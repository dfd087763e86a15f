"""Bearer tokens: whether a call's `Authorization` value names one of them, in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from server.core.errors import Unauthenticated


class BearerTokens:
    """The tokens a call may present as `Bearer <token>`; none configured: no authentication."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._expected = [f"Bearer {token}".encode() for token in tokens]

    @property
    def required(self) -> bool:
        return bool(self._expected)

    def accepts(self, authorization: str | bytes | None) -> bool:
        """Whether authorization is `Bearer <token>` for one of the tokens."""
        if not self._expected:
            return True
        if isinstance(authorization, str):
            authorization = authorization.encode()
        presented = authorization or b""
        # Compare against every token, always, so timing says nothing about which matched.
        return any([hmac.compare_digest(presented, token) for token in self._expected])

    def check(self, authorization: str | bytes | None) -> None:
        """Raises Unauthenticated unless accepts(authorization)."""
        if not self.accepts(authorization):
            raise Unauthenticated("missing or invalid bearer token")
