"""Public statistics (/stats): channel totals, the corruption channel's months, the small-count rule; and
figures that do not change when retention purges old content."""

from __future__ import annotations

import itertools
import random
import re
import secrets

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from intake import cases, keyring, retention
from intake.models import Attachment, Case, Channel, Entry, Status
from intake.reports import figures, periods, public

from .conftest import PASSWORD, store_of
from .officer_helpers import world
from .reports_helpers import bkk, build_known_cases

MONTHS = [m.first_day for m in periods.period(2569, "year").months]  # Oct 2025 .. Sep 2026
SECRET = b"k" * 32


def figures_of(html: str, channel: str) -> dict[str, int]:
    row = html.split(f'data-channel="{channel}"', 1)[1].split("</tr>", 1)[0]
    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', row)}


def test_stats_page_shows_channel_totals_without_content(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
    response = client.get("/stats?fiscal_year=2569")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'lang="th"' in html and "ปีงบประมาณ" in html
    # FY 2569 at its end (30 Sep 2026): corruption carried A, G; received D; G dismissed, A open, D referred.
    assert figures_of(html, "corruption") == {
        "carried_over": 2, "received": 1, "completed": 1, "in_progress": 1, "referred": 1,
    }  # fmt: skip
    assert figures_of(html, "feedback") == {
        "carried_over": 0, "received": 2, "completed": 0, "in_progress": 2, "referred": 0,
    }  # fmt: skip
    assert figures_of(html, "question")["completed"] == 1
    # No content, no category, no source, nothing finer than a month.
    for absent in ("เรื่อง A", "เรื่อง D", "คำตอบ", "การจัดซื้อจัดจ้าง", "การเรียกรับสินบน", "โทรศัพท์",
                   "หนังสือ/จดหมาย", "10 พฤศจิกายน", "ปช 1/2568"):  # fmt: skip
        assert absent not in html, absent


def test_stats_hides_small_months(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
    html = client.get("/stats?fiscal_year=2569").get_data(as_text=True)
    months = html.split('id="stats-corruption-months"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<th scope=\"row\">([^<]+)</th>\s*<td class=\"num[^\"]*\"[^>]*>([^<]+)</td>", months)
    assert len(cells) == 12
    # FY 2569's corruption months: only November has a complaint (D): hidden, with one more month.
    hidden = [month for month, shown in cells if shown.startswith("ไม่เปิดเผย")]
    assert "พฤศจิกายน 2568" in hidden and len(hidden) == 2
    assert all(shown == "0" for month, shown in cells if month not in hidden)
    assert 'id="suppression-note"' in html


def test_stats_year_selector_and_bad_year(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        factory.case(received_at=bkk(2024, 12, 1))  # FY 2568: the selector starts there
    html = client.get("/stats").get_data(as_text=True)
    current = periods.current_fiscal_year()
    assert f'<option selected value="{current}">' in html
    assert 'value="2568"' in html and 'value="2567"' not in html
    assert "<script" not in html
    assert client.get("/stats?fiscal_year=2500").status_code == 400
    assert client.get("/stats?fiscal_year=abc").status_code == 400


def test_stats_empty_year_says_so(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        factory.case(received_at=bkk(2024, 12, 1))
    html = client.get("/stats?fiscal_year=2569").get_data(as_text=True)
    assert "ไม่มีเรื่องร้องเรียนในปีงบประมาณนี้" in html


def test_no_small_count_no_suppression() -> None:
    months = list(zip(MONTHS, [0, 3, 4, 0, 7, 0, 0, 0, 0, 0, 0, 12], strict=True))
    assert [m.count for m in public.suppress(months, 2569, SECRET)] == [n for _m, n in months]


def test_secondary_month_depends_on_the_secret_not_the_counts() -> None:
    counts = [0, 1, 0, 5, 3, 0, 0, 0, 0, 0, 0, 0]
    months = list(zip(MONTHS, counts, strict=True))
    chosen = set()
    for _ in range(40):
        shown = public.suppress(months, 2569, secrets.token_bytes(32))
        hidden = [i for i, m in enumerate(shown) if m.count is None]
        assert len(hidden) == 2 and 1 in hidden
        chosen.update(hidden)
    assert len(chosen) > 3  # different secrets hide different months, zero months included
    first = public.suppress(months, 2569, SECRET)
    assert public.suppress(months, 2569, SECRET) == first  # stable for one server
    # Changing a count outside the hidden months does not move the choice.
    other = [c if i in (1,) else c + 10 * (c > 2) for i, c in enumerate(counts)]
    moved = public.suppress(list(zip(MONTHS, other, strict=True)), 2569, SECRET)
    assert [m.count is None for m in moved] == [m.count is None for m in first]


def _possible_values(shown: list[int | None], total: int) -> list[set[int]]:
    """What a reader who knows the rule and the total can say of each hidden month."""
    hidden = [i for i, n in enumerate(shown) if n is None]
    rest = total - sum(n for n in shown if n is not None)
    options: list[set[int]] = [set() for _ in shown]
    for values in itertools.product(range(rest + 1), repeat=len(hidden)):
        if sum(values) != rest:
            continue
        small = [v in public.SMALL for v in values]
        # Exactly one hidden month may be the extra one (any count but 1-2), the rest are 1-2;
        # or (no month left to hide with them) all are 1-2.
        if sum(small) >= len(values) - 1 and any(small):
            for i, v in zip(hidden, values, strict=True):
                options[i].add(v)
    return options


def test_no_hidden_month_can_be_worked_out_from_the_total() -> None:
    rng = random.Random(4)
    for _ in range(150):
        counts = [rng.choice((0, 0, 0, 1, 2, 3, 4, 6)) for _ in range(rng.randint(2, 7))]
        months = list(zip(MONTHS[: len(counts)], counts, strict=True))
        shown = [m.count for m in public.suppress(months, 2569, rng.randbytes(32))]
        if all(c in public.SMALL for c in counts):
            continue  # every month hidden and none to hide with them: the documented limit
        for i, possible in enumerate(_possible_values(shown, sum(counts))):
            if shown[i] is None:
                assert counts[i] in possible and len(possible) >= 2, (counts, shown)
        assert not [c for c, s in zip(counts, shown, strict=True) if c in public.SMALL and s is not None]


def test_figures_unchanged_after_purge(app: Flask) -> None:
    """Retention deletes content of long-closed cases; every figure of every period stays the same."""
    with world(app) as (session, factory):
        build_known_cases(factory, session)
        admin = factory.legal()  # holds every channel, corruption included
        case = factory.case(Channel.CORRUPTION, "หลักฐาน", received_at=bkk(2025, 11, 3),
                            files=[(b"evidence", "e.txt")], category="bribery").case  # fmt: skip
        keys = cases.officer_keys(session, admin, keyring.unlock(admin, PASSWORD), case)
        cases.reply(session, case, admin, keys, "ได้รับแล้ว", at=bkk(2025, 11, 4))
        cases.change_status(session, case, admin, keys, Status.RESOLVED, "จบ", public=True,
                            at=bkk(2025, 12, 2))  # fmt: skip
        session.commit()
        stamp = bkk(2026, 1, 1)
        wanted = [(2568, "q4"), *((2569, code) for code in periods.PERIOD_CODES), (2570, "year")]
        before = [figures.compute(session, periods.period(y, c), stamp) for y, c in wanted]
        public_before = public.stats(session, 2569)
        result = retention.purge(session, store_of(app), now=bkk(2040, 1, 1))
        assert result.cases == 4 and result.attachments == 1  # C, F, G and the new case were closed
        purged = session.scalars(select(Case).where(Case.purged_at.is_not(None))).all()
        assert len(purged) == 4
        assert session.scalar(select(Attachment.id)) is None
        ids = [c.id for c in purged]
        assert session.scalars(select(Entry.body).where(Entry.case_id.in_(ids))).all() == [None] * len(
            session.scalars(select(Entry.id).where(Entry.case_id.in_(ids))).all()
        )
        after = [figures.compute(session, periods.period(y, c), stamp) for y, c in wanted]
        assert after == before
        assert public.stats(session, 2569) == public_before
        q1 = before[1]
        assert q1.period.code == "q1" and q1.by_category["bribery"] == figures.Counts(
            carried_over=1, received=1, pending=1, resolved=1
        )  # A, and the purged case: still counted
