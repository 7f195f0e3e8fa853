"""What keeps the public reception honest: form tokens (CSRF and minimum fill time), the honeypot,
per-address limits and the client's address.

A form token is signed (HMAC via itsdangerous) and carries the form, a one-time nonce, the moment
the form was shown (from the robot's clock, so tests move time instead of sleeping) and a hash of
the browser's CSRF cookie. A page on another site can neither read the cookie nor forge the
token, so it cannot post the form in a customer's name (double-submit cookie, SameSite=Lax).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from redis import Redis

log = logging.getLogger("robot.web.security")

CSRF_COOKIE = "mr_csrf"
#: The honeypot's field name: a plausible one that autofill leaves alone (autocomplete=off).
HONEYPOT_FIELD = "website"
#: A form older than this is refused (the customer reloads it; what was typed is kept).
TOKEN_MAX_AGE = timedelta(hours=24)


class TokenError(Exception):
    """The form token is missing, forged, from another form or browser, too old or too new."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # csrf | expired | too_fast


@dataclass(frozen=True)
class FormToken:
    form: str
    nonce: str
    issued_at: datetime


class FormTokens:
    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeSerializer(key, salt="mailrobot.reception.form")

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(24)

    def issue(self, form: str, cookie: str, now: datetime) -> str:
        payload = {"f": form, "n": secrets.token_urlsafe(18), "t": int(now.timestamp()), "c": _digest(cookie)}
        return self._serializer.dumps(payload)

    def check(self, token: str, *, form: str, cookie: str | None, now: datetime, min_fill_s: float) -> FormToken:
        try:
            payload = self._serializer.loads(token)
        except BadSignature as error:
            raise TokenError("csrf") from error
        if not isinstance(payload, dict) or payload.get("f") != form or not cookie:
            raise TokenError("csrf")
        if not secrets.compare_digest(str(payload.get("c")), _digest(cookie)):
            raise TokenError("csrf")
        issued = datetime.fromtimestamp(int(payload["t"]), tz=UTC)
        if now - issued > TOKEN_MAX_AGE:
            raise TokenError("expired")
        if (now - issued).total_seconds() < min_fill_s:
            raise TokenError("too_fast")
        return FormToken(form, str(payload["n"]), issued)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class RateLimiter:
    """A fixed-window counter per client address in Redis (INCR with expiry).

    Redis only counts; nothing the customer sent lives there. When Redis cannot be reached the
    limit is not enforced and a warning is logged: refusing every customer because a counter is
    down would turn a spam guard into an outage.
    """

    def __init__(self, redis: Redis, *, prefix: str = "mailrobot:web:limit") -> None:
        self.redis = redis
        self.prefix = prefix

    def hit(self, bucket: str, client: str, *, limit: int, window_s: int, now: datetime) -> bool:
        """Count one request; False when ``client`` is over ``limit`` in the current window."""
        window = int(now.timestamp()) // window_s
        key = f"{self.prefix}:{bucket}:{client}:{window}"
        try:
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, window_s * 2)
            count = int(pipe.execute()[0])
        except Exception:
            log.warning("rate limit for %s not checked: Redis unavailable", bucket, exc_info=True)
            return True
        if count > limit:
            log.info("client over the %s limit (%s in the window)", bucket, count)
            return False
        return True


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The customer's address: the peer, or what a trusted reverse proxy says it forwarded for."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    # The right-most address a trusted proxy did not add itself is the client's.
    for candidate in reversed(forwarded):
        if candidate not in trusted_proxies:
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return peer
    return peer
