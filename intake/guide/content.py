"""The complaint-handling guideline, built from the settings: nothing in it is typed twice.

Channels (the web forms at their public addresses, and the offline channels the municipality accepts), the
unit responsible for each channel, the steps from receipt to answer, the time limits (the deadline
settings), how the person who writes is protected, where to go outside the municipality, and the
administrator's own text. The page (/guide) and the PDF (/guide.pdf) render this one object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from .. import dates, settings
from ..i18n import CHANNEL_LABELS, SOURCE_LABELS, label
from ..models import Channel, Source
from ..urls import public_url

CHANNELS = tuple(c.value for c in Channel)
OFFLINE_SOURCES = tuple(s.value for s in Source if s not in (Source.WEB, Source.OTHER))
FORMS = {
    "corruption": "citizen.report_corruption",
    "feedback": "citizen.report_feedback",
    "question": "citizen.ask",
}


@dataclass(frozen=True)
class Outside:
    """An agency outside the municipality (its name is translated; its hotline and site are facts)."""

    key: str  # an AGENCY_LABELS key
    hotline: str
    website: str


# Where to go outside the municipality: the NACC (corruption by local officials and executives), the
# PACC (corruption by state officials), the Damrongdhama Center of the Ministry of Interior (complaints
# about local government in general).
OUTSIDE = (
    Outside("nacc", "1205", "https://www.nacc.go.th"),
    Outside("pacc", "1206", "https://www.pacc.go.th"),
    Outside("damrongdhama", "1567", "https://www.damrongdhama.moi.go.th"),
)


@dataclass(frozen=True)
class ChannelRule:
    channel: str
    name: str
    form_url: str  # absolute
    unit: str
    acknowledge_days: int
    answer_days: int


@dataclass(frozen=True)
class Guide:
    municipality: str
    channels: tuple[ChannelRule, ...]
    track_url: str
    stats_url: str
    offline: tuple[str, ...]  # labels of the offline channels accepted
    offline_contact: str  # the administrator's words: address, telephone, office hours
    own_text: tuple[str, ...]  # the administrator's paragraphs
    outside: tuple[Outside, ...]
    as_of: datetime

    def unit_of(self, channel: str) -> str:
        return next(c.unit for c in self.channels if c.channel == channel)


def offline_sources(session: Session) -> list[str]:
    """The offline channels accepted (Source values, in their usual order)."""
    chosen = {v.strip() for v in settings.get(session, "guide.offline_sources").split(",")}
    return [s for s in OFFLINE_SOURCES if s in chosen]


def paragraphs(text: str) -> tuple[str, ...]:
    """Blank lines separate paragraphs; single line breaks stay inside one."""
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    return tuple(b for b in blocks if b)


def build(session: Session, now: datetime | None = None) -> Guide:
    """The guideline as it stands now (needs a request or a configured public URL for its links)."""
    rules = []
    for channel in CHANNELS:
        limits = settings.deadlines(session, channel)
        rules.append(
            ChannelRule(
                channel,
                str(CHANNEL_LABELS[channel]),
                public_url(FORMS[channel]),
                settings.get(session, f"guide.unit.{channel}"),
                limits.acknowledge_days,
                limits.answer_days,
            )
        )
    return Guide(
        municipality=settings.get(session, "municipality_name"),
        channels=tuple(rules),
        track_url=public_url("citizen.track"),
        stats_url=public_url("reports.public_stats"),
        offline=tuple(label(SOURCE_LABELS, s) for s in offline_sources(session)),
        offline_contact=settings.get(session, "guide.offline_contact").strip(),
        own_text=paragraphs(settings.get(session, "guide.text")),
        outside=OUTSIDE,
        as_of=now or dates.now(),
    )
