"""Checks on signed Slack requests in HTTP mode, before bolt sees them.

bolt verifies the signature and refuses stale timestamps, but a signed request captured on the
way (a proxy log, a leaked HAR file) can be sent again within its five minutes and runs again:
a second digest from one ``send-now``. This guard records every signature it lets through in
the database (``seen_requests``, shared by every process on PostgreSQL) until the request would
be stale, and refuses a signature seen before. It also answers a malformed timestamp or body
with 401, where slack_sdk's verifier would raise (``int()`` of the header) and aiohttp answer 500,
and a signed body bolt cannot read as a payload (``payload=[]``, not JSON) with 400.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import seen_requests

log = logging.getLogger(__name__)

WINDOW_SECONDS = 5 * 60
"""How far a request's timestamp may be from now: slack_sdk's ``SignatureVerifier`` window."""
MAX_TIMESTAMP_DIGITS = 12
"""Unix seconds have 10 digits until the year 2286; anything much longer is not a timestamp."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_problem(body: bytes, content_type: str | None) -> str | None:
    """Why bolt could not read ``body`` as a Slack payload (a JSON object), or None.

    Mirrors ``slack_bolt.request.internals.parse_body``: JSON for ``application/json`` or a body
    starting with ``{``, else a form whose ``payload`` field, when present, is JSON. Anything
    else (``payload=[]``, a payload that is not JSON) made bolt raise: a 500 and a traceback.
    """
    text = body.decode("utf-8")  # checked to be UTF-8 by the signature check before
    if not text:
        return None
    if content_type == "application/json" or text.startswith("{"):
        what, raw = "the JSON body", text
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is None:
            return None
        what, raw = "the payload field", payload
    else:
        return None
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return f"{what} is not JSON"
    if not isinstance(parsed, dict):
        return f"{what} is JSON but not an object"
    return None


class _WallClock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class Refused(Exception):
    """A request the guard turns away; the message says why (logged, never shown to the caller)."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


class RequestGuard:
    """Refuses Slack requests that are unsigned, badly signed, stale, malformed or replayed.

    Args:
        signing_secret: the app's signing secret.
        sessionmaker: where seen signatures are kept (shared by every process of the install).
        now: Unix time in seconds; the wall clock, as the timestamps Slack signs are.
    """

    def __init__(
        self,
        *,
        signing_secret: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        now: Callable[[], float] = time.time,
    ) -> None:
        self._now = now
        self._verifier = SignatureVerifier(signing_secret, clock=_WallClock(now))
        self._sessionmaker = sessionmaker

    async def check(self, headers: Mapping[str, str], body: bytes) -> None:
        """Let a request through once, or raise.

        Raises:
            Refused: not signed by Slack, stale, malformed, or seen before within its window.
        """
        timestamp = headers.get("X-Slack-Request-Timestamp")
        signature = headers.get("X-Slack-Signature")
        if not timestamp or not signature:
            raise Refused("the request is not signed")
        # isdigit() alone admits "²" and other digits int() refuses.
        if not (timestamp.isascii() and timestamp.isdigit()) or (
            len(timestamp) > MAX_TIMESTAMP_DIGITS
        ):
            raise Refused(f"X-Slack-Request-Timestamp {timestamp[:20]!r} is not a Unix time")
        try:
            valid = self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:
            raise Refused("the request body is not UTF-8") from None
        if not valid:
            raise Refused("bad signature or stale timestamp")
        if (problem := body_problem(body, headers.get("Content-Type"))) is not None:
            raise Refused(problem, status=400)
        expires_at = datetime.fromtimestamp(int(timestamp) + WINDOW_SECONDS, UTC)
        async with self._sessionmaker.begin() as session:
            first = await seen_requests.first_sighting(
                session,
                f"slack:{signature}",
                expires_at=expires_at,
                now=datetime.fromtimestamp(self._now(), UTC),
            )
        if not first:
            # Slack's own retries carry X-Slack-Retry-Num; acking them stops further retries.
            retried = bool(headers.get("X-Slack-Retry-Num"))
            raise Refused("a replay of a request already handled", status=200 if retried else 401)

    def wrap(self, handler: Handler) -> Handler:
        """``handler`` (bolt's POST /slack/events) behind the guard."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            body = await request.read()  # aiohttp keeps it: bolt reads it again
            try:
                await self.check(request.headers, body)
            except Refused as refused:
                log.warning("refused a Slack request from %s: %s", request.remote, refused)
                if refused.status == 200:
                    return web.Response(status=200, text="")
                return web.json_response({"error": "invalid request"}, status=refused.status)
            return await handler(request)

        return guarded
