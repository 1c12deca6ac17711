"""Budgets per client address for expensive work, counted where the rate limiter keeps its counts.

The submit limit counts requests, but a picture costs by the pixel: a 130 KB blank PNG decodes to 40
megapixels. `charge_megapixels` deducts the megapixels a citizen's submission is about to decode from
`RATELIMIT_MEGAPIXELS` (default "600 per hour": five submissions of ten 12-megapixel photos) before any
is decoded, under the same keyed hash of the address as every limit (never the address itself).
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import parse_many

from .attachments import AttachmentRejected
from .extensions import client_key, counts

SCOPE = "citizen-megapixels"


def charge_megapixels(pixels: int) -> None:
    """Deduct the pixels (whole megapixels) from each window; AttachmentRejected("busy") once one is spent."""
    if pixels <= 0 or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    cost = math.ceil(pixels / 1_000_000)
    key = client_key()
    for item in parse_many(str(current_app.config["RATELIMIT_MEGAPIXELS"])):
        if not counts.hit(item, SCOPE, key, cost=cost):
            reset = counts.reset_time(item, SCOPE, key)
            raise AttachmentRejected("busy", retry_after=max(1, math.ceil(reset - time.time())))
