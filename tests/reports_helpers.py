"""Known cases for the report tests, whose figures are worked out by hand in test_reports_figures.py.

All times are Bangkok unless written in UTC. Deadlines are the defaults: acknowledge within 7 days,
answer within 15 (due at the end of the Bangkok day). Fiscal year 2569 = 1 Oct 2025 - 30 Sep 2026.

  A corruption web  bribery      received 30 Sep 2025 23:59 (last minute of FY 2568); never handled
  B feedback   web               received 1 Oct 2025 00:00 (given in UTC: 30 Sep 17:00Z); acknowledged
                                 2 Oct 12:00
  C question   web               received 20 Dec 2025 10:00; reply 22 Dec 10:00 (acknowledges and
                                 answers); resolved 5 Jan 2026 12:00 (next quarter)
  D corruption phone procurement received 10 Nov 2025 12:00; acknowledged 11 Nov 12:00; referred to the
                                 NACC 20 Nov 12:00
  E feedback   letter            offline: received 15 Dec 2025 (noon), typed in later; in progress
                                 12 Jan 2026 12:00 (acknowledged late)
  F corruption web  other        received 15 Aug 2025 12:00; resolved 20 Sep 2025 12:00
                                 (closed before FY 2569)
  G corruption web  abuse        received 1 Jul 2025 12:00; in progress 5 Jul 12:00; dismissed 15 Oct 2025
                                 12:00
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from intake import cases, dates, keyring
from intake.models import Agency, Case, Channel, Source, Status

from .conftest import PASSWORD
from .factories import Factory


def bkk(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Bangkok wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=dates.BANGKOK).astimezone(UTC)


@dataclass
class Known:
    cases: dict[str, Case]


def build_known_cases(factory: Factory, session: Session) -> Known:
    admin = factory.legal()  # holds every channel, corruption included
    private = keyring.unlock(admin, PASSWORD)
    made: dict[str, Case] = {}

    def new(name: str, channel: Channel, received: datetime, source: Source = Source.WEB,
            category: str | None = None) -> tuple[Case, cases.CaseKeys]:
        case = factory.case(channel, f"เรื่อง {name}", source=source, received_at=received,
                            category=category).case
        made[name] = case
        return case, cases.officer_keys(session, admin, private, case)

    def status(case: Case, keys: cases.CaseKeys, value: Status, at: datetime) -> None:
        cases.change_status(session, case, admin, keys, value, at=at)

    new("A", Channel.CORRUPTION, bkk(2025, 9, 30, 23, 59), category="bribery")

    b, kb = new("B", Channel.FEEDBACK, datetime(2025, 9, 30, 17, 0, tzinfo=UTC))
    status(b, kb, Status.ACKNOWLEDGED, bkk(2025, 10, 2))

    c, kc = new("C", Channel.QUESTION, bkk(2025, 12, 20, 10))
    cases.reply(session, c, admin, kc, "คำตอบ", at=bkk(2025, 12, 22, 10))
    status(c, kc, Status.RESOLVED, bkk(2026, 1, 5))

    d, kd = new("D", Channel.CORRUPTION, bkk(2025, 11, 10), Source.PHONE, "procurement")
    status(d, kd, Status.ACKNOWLEDGED, bkk(2025, 11, 11))
    cases.refer(session, d, admin, kd, Agency.NACC, "ปช 1/2568", "2025-11-20")
    # refer() stamps "now"; put the referral at its real date.
    d.referred_at = bkk(2025, 11, 20)
    d.entries[-1].at = bkk(2025, 11, 20)

    e, ke = new("E", Channel.FEEDBACK, dates.received_from_date(datetime(2025, 12, 15).date()), Source.LETTER)
    status(e, ke, Status.IN_PROGRESS, bkk(2026, 1, 12))

    f, kf = new("F", Channel.CORRUPTION, bkk(2025, 8, 15), category="other")
    status(f, kf, Status.RESOLVED, bkk(2025, 9, 20))

    g, kg = new("G", Channel.CORRUPTION, bkk(2025, 7, 1), category="abuse_of_position")
    status(g, kg, Status.IN_PROGRESS, bkk(2025, 7, 5))
    status(g, kg, Status.DISMISSED, bkk(2025, 10, 15))

    session.commit()
    return Known(made)
