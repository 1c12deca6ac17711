"""Tracking forgives people and still stops guessing: the limits around every look-up of a tracking code.

A code has 100 random bits (tokens.py), so guessing is hopeless by arithmetic alone; these limits keep it
so, while a correct code is never refused because of wrong ones typed earlier from the same address (Thai
mobile networks and village Wi-Fi put many people behind one address). Every look-up (tracking, a
follow-up, a satisfaction answer) goes through `lookup`:

1. The address's ceiling (RATELIMIT_TRACK_CEILING, default 60 per hour and 300 per day) is charged BEFORE
   the code is looked at, in one atomic step of the limiter's storage, and refunded when the code was right.
   So at most that many wrong codes are ever evaluated for one address, however many arrive in parallel.
   Above it every look-up from the address waits (429) until the window turns: the one case where a right
   code waits, which takes more than 60 wrong codes from one address within the hour.
2. A code's prefix (its first group of five symbols, 25 bits, kept only as a keyed hash) that has had
   RATELIMIT_TRACK_PREFIX wrong codes (default 10 per day, from any address) is not looked at again that
   day: a photo of half a slip cannot be completed by a crowd of addresses.
3. Wrong codes from an address (RATELIMIT_TRACK_FAILURES, default 5 per 10 minutes, 20 per hour, 50 per day)
   are answered 429 instead of 404 beyond the limit, with `Retry-After` growing with each tier (10 minutes,
   then an hour, then a day); a right code still opens its case, and a success clears these counts for the
   address (neighbours' typos are forgiven). What was typed stays in the field either way.

With 1,000,000 cases stored, one guess finds some case with probability 10^6 / 2^100 ≈ 7.9 × 10^-25; an
address gets at most 300 guesses a day, 109,500 a year: ≈ 8.6 × 10^-20; a million addresses for a year:
≈ 8.6 × 10^-14.

Counters live in the rate limiter's storage (memory, or Redis shared by every worker and server) under
keyed hashes of the address and of the prefix, in short windows; nothing is written to the database. While
Redis is away they are counted in each process's memory (extensions.counts): the limits stay on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse_many
from sqlalchemy.orm import Session

from .. import cases, crypto, key_contexts, keyring, tokens
from ..extensions import client_key, counts, limiter

CEILING, PREFIX, FAILURES = "track-ceiling", "track-prefix", "track-failures"


class TooMany(Exception):
    """Not looked up, or looked up and wrong beyond the limit: wait `retry_after` seconds.

    `right_codes_work`: only wrong codes are held back (the failure limit): a right code still opens."""

    def __init__(self, retry_after: int, *, right_codes_work: bool) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
        self.right_codes_work = right_codes_work


@dataclass(frozen=True)
class Limits:
    ceiling: list[RateLimitItem]
    prefix: list[RateLimitItem]
    failures: list[RateLimitItem]


def _limits() -> Limits:
    config = current_app.config
    return Limits(
        parse_many(str(config["RATELIMIT_TRACK_CEILING"])),
        parse_many(str(config["RATELIMIT_TRACK_PREFIX"])),
        parse_many(str(config["RATELIMIT_TRACK_FAILURES"])),
    )


def _prefix_key(typed: str) -> str | None:
    """A keyed hash of the code's first group, or None when the text cannot be a code."""
    try:
        group = tokens.normalise(typed)[: tokens.GROUP]
    except tokens.TokenMalformed:
        return None
    key = keyring.server_key(key_contexts.TRACKING_PREFIX)
    return crypto.keyed_hash(key, group.encode()).hex()[:32]


def _wait(items: list[RateLimitItem], scope: str, key: str) -> int:
    """Seconds until the windows of `items` (the limits that said no) have turned: at least one second,
    at most each window's length."""
    now = time.time()
    waits = [min(item.get_expiry(), math.ceil(counts.reset_time(item, scope, key) - now)) for item in items]
    return max(1, *waits) if waits else 1


def lookup(session: Session, typed: str) -> cases.CitizenCase:
    """The case this code opens, under the limits above; raises TokenNotFound or TooMany."""
    if not limiter.enabled:
        return cases.find_by_token(session, typed)
    strategy = counts  # the limiter's storage, or this process's memory while it is away
    rules = _limits()
    address = client_key()
    charged = {item: strategy.hit(item, CEILING, address) for item in rules.ceiling}
    if not all(charged.values()):  # over the ceiling: nothing is looked at
        wait = _wait([item for item, ok in charged.items() if not ok], CEILING, address)
        for item, ok in charged.items():
            if ok:
                strategy.hit(item, CEILING, address, cost=-1)
        raise TooMany(wait, right_codes_work=False)
    prefix = _prefix_key(typed)
    full = [item for item in rules.prefix if prefix is not None and not strategy.test(item, PREFIX, prefix)]
    if prefix is not None and full:
        for item in rules.ceiling:  # not looked at: not charged either
            strategy.hit(item, CEILING, address, cost=-1)
        raise TooMany(_wait(full, PREFIX, prefix), right_codes_work=False)
    try:
        found = cases.find_by_token(session, typed)
    except cases.TokenNotFound:
        if prefix is not None:
            for item in rules.prefix:
                strategy.hit(item, PREFIX, prefix)
        over = [item for item in rules.failures if not strategy.hit(item, FAILURES, address)]
        if over:
            raise TooMany(_wait(over, FAILURES, address), right_codes_work=True) from None
        raise
    for item in rules.ceiling:  # a right code costs nothing, and forgives the address its typos
        strategy.hit(item, CEILING, address, cost=-1)
    for item in rules.failures:
        strategy.clear(item, FAILURES, address)
    return found
