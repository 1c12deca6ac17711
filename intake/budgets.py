"""Budgets per client address for expensive work, counted where the rate limiter keeps its counts.

The submit limit counts requests, but a picture costs by the pixel: a 130 KB blank PNG decodes to 40
megapixels. `charge_megapixels` deducts the megapixels a citizen's submission is about to decode from
`RATELIMIT_MEGAPIXELS` (default "600 per hour": five submissions of ten 12-megapixel photos) before any
is decoded, under the same keyed hash of the address as every limit (never the address itself).
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from .attachments import AttachmentRejected
from .extensions import client_key, limiter

SCOPE = "citizen-megapixels"
log = logging.getLogger(__name__)
# While the limiter's storage (Redis) is away, this process counts in memory, as flask-limiter does.
_fallback: RateLimiter = FixedWindowRateLimiter(MemoryStorage())


def _hit(item: RateLimitItem, key: str, cost: int) -> tuple[bool, RateLimiter]:
    strategy = limiter.limiter
    try:
        return strategy.hit(item, SCOPE, key, cost=cost), strategy
    except StorageError:
        log.warning("rate limit storage unreachable: counting megapixels in this process's memory")
        return _fallback.hit(item, SCOPE, key, cost=cost), _fallback


def charge_megapixels(pixels: int) -> None:
    """Deduct the pixels (whole megapixels) from each window; AttachmentRejected("busy") once one is spent."""
    if pixels <= 0 or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    cost = math.ceil(pixels / 1_000_000)
    key = client_key()
    for item in parse_many(str(current_app.config["RATELIMIT_MEGAPIXELS"])):
        allowed, strategy = _hit(item, key, cost)
        if not allowed:
            try:
                reset = strategy.get_window_stats(item, SCOPE, key).reset_time
            except StorageError:  # gone between the two calls: say "in an hour at most"
                reset = time.time() + item.get_expiry()
            raise AttachmentRejected("busy", retry_after=max(1, math.ceil(reset - time.time())))
