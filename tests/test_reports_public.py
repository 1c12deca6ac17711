"""Public statistics (/stats): quarters and halves of ended periods, the officers' own figures, totals rows,
"ไม่มีเรื่องร้องเรียน", the small-count rule, the PDF and XLSX of exactly what the page shows; and figures
that do not change when retention purges old content. The subtraction attack is test_reports_public_attack.py.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import cases, dates, keyring, retention
from intake.models import Attachment, Case, Channel, Entry, Status
from intake.reports import figures, periods, public

from .conftest import ADMIN, PASSWORD, store_of
from .factories import Factory
from .officer_helpers import OfficerActions, world
from .reports_helpers import bkk, build_known_cases
from .stats_helpers import by_title, page_tables, pdf_tables, xlsx_tables

SPLIT = set(public.SPLIT)


def officers_figures(session: Session, p: periods.Period) -> dict[str, figures.Counts]:
    """What the officers' report says of period `p`, channel by channel, with the total."""
    return public.with_total(figures.compute(session, p).by_channel)


def test_quarters_show_the_officers_figures_with_totals_rows(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
        response = client.get("/stats?fiscal_year=2569")
        assert response.status_code == 200
        tables, titles = page_tables(response.get_data(as_text=True))
        assert list(tables) == ["q1", "q2", "q3", "q4", "year"]  # FY 2569 has ended: all of it
        assert titles["q1"] == "ไตรมาสที่ 1 (ตุลาคม 2568 – ธันวาคม 2568)"
        for key, rows in tables.items():
            want = officers_figures(session, periods.period(2569, key))
            assert list(rows) == ["corruption", "feedback", "question", "all"]  # a totals row in each
            for row, cells in rows.items():
                for figure, value in cells.items():
                    assert value is None or value == getattr(want[row], figure), (key, row, figure)
                total = [cells[f] for f in ("carried_over", "received", "total", "closed")]
                assert None not in total  # never hidden: what the ITA asks for
    # FY 2569 Q1 (hand-worked in reports_helpers): corruption carried over A and G, received D; at the end
    # A pending, G dismissed, D referred: the stage splits 1-0-1, so it is hidden, and in the totals row.
    q1 = tables["q1"]
    assert {f: v for f, v in q1["corruption"].items() if f not in SPLIT} == {
        "carried_over": 2, "received": 1, "total": 3, "closed": 1,
    }  # fmt: skip
    assert all(q1[row][f] is None for row in ("corruption", "all") for f in SPLIT)
    assert q1["feedback"] == {"carried_over": 0, "received": 2, "total": 2, "pending": 2, "in_progress": 0,
                              "referred": 0, "closed": 0}  # fmt: skip
    assert q1["all"]["received"] == 4 and q1["all"]["total"] == 6


def test_halves_view_and_the_same_definitions_under_the_table(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
        html = client.get("/stats?fiscal_year=2569&view=halves").get_data(as_text=True)
        tables, titles = page_tables(html)
        assert list(tables) == ["h1", "h2", "year"]
        assert titles["h1"].startswith("รอบ 6 เดือน (ตุลาคม 2568")
        want = officers_figures(session, periods.period(2569, "h2"))
        assert tables["h2"]["question"]["closed"] == want["question"].closed
    # Each figure's one definition (figures.FIGURES), then the rule and when periods are published.
    for key in public.PUBLIC_FIGURES:
        assert str(figures.FIGURES[key].definition) not in html  # English msgid: the page is Thai
    assert "ยกมาจากช่วงก่อน: เรื่องที่รับก่อนช่วงเวลานี้และยังไม่ปิด ณ วันเริ่มช่วง" in html
    assert "อยู่ระหว่างดำเนินการ: เทศบาลกำลังดำเนินการ ณ สิ้นช่วงเวลา" in html
    assert "หลักการไม่เปิดเผยจำนวนน้อย" in html and 'id="suppression-note"' in html
    assert "เผยแพร่เมื่อช่วงเวลานั้นสิ้นสุดแล้ว" in html


def test_the_officers_report_prints_the_same_definitions(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
    OfficerActions(client).login(ADMIN, PASSWORD)
    officer_page = client.get("/officer/reports?fiscal_year=2569&period=q1").get_data(as_text=True)
    public_page = client.get("/stats?fiscal_year=2569").get_data(as_text=True)
    for sentence in ("อยู่ระหว่างดำเนินการ: เทศบาลกำลังดำเนินการ ณ สิ้นช่วงเวลา",
                     "รอดำเนินการ: รับเรื่องหรือแจ้งรับทราบแล้วแต่ยังไม่เริ่มดำเนินการ ณ สิ้นช่วงเวลา"):  # fmt: skip
        assert sentence in officer_page and sentence in public_page


def test_nothing_received_is_said_in_words(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
        factory.case(Channel.FEEDBACK, received_at=bkk(2025, 2, 1))  # FY 2568 Q2: feedback only
        session.commit()
    html = client.get("/stats?fiscal_year=2569").get_data(as_text=True)
    q2 = html.split('id="period-q2"', 1)[1].split("</section>", 1)[0]
    assert "ไม่มีเรื่องร้องเรียนในช่วงเวลานี้" in q2  # nothing at all came in from January to March
    html = client.get("/stats?fiscal_year=2568").get_data(as_text=True)
    q2 = html.split('id="period-q2"', 1)[1].split("</section>", 1)[0]
    assert "ร้องเรียนการทุจริต: ไม่มีเรื่องร้องเรียนในช่วงเวลานี้" in q2
    assert "ถาม-ตอบ: ไม่มีเรื่องร้องเรียนในช่วงเวลานี้" in q2 and "ความคิดเห็น/คำติชม: ไม่มี" not in q2


def test_a_period_is_published_once_it_has_ended(app: Flask, session: Session, factory: Factory) -> None:
    build_known_cases(factory, session)
    february = bkk(2026, 2, 1)
    stats = public.stats(session, 2569, "quarters", now=february)
    assert [t.key for t in stats.tables] == ["q1"]  # the year so far is Q1 itself: no second table
    assert [p.code for p in stats.waiting] == ["q2", "q3", "q4"]
    halves = public.stats(session, 2569, "halves", now=february)
    assert [t.key for t in halves.tables] == ["ytd-q1"] and [p.code for p in halves.waiting] == ["h1", "h2"]
    august = public.stats(session, 2569, "halves", now=bkk(2026, 8, 1))
    assert [t.key for t in august.tables] == ["h1", "ytd-q3"]
    # What was published in February is what August still shows for Q1: figures at the period's end.
    assert public.stats(session, 2569, "quarters", now=bkk(2026, 8, 1)).tables[0] == stats.tables[0]
    assert public.stats(session, 2570, "quarters", now=bkk(2026, 12, 31, 23)).tables == []


def test_running_year_says_when_each_period_comes(app: Flask, client: FlaskClient) -> None:
    current = periods.current_fiscal_year()
    html = client.get(f"/stats?fiscal_year={current}").get_data(as_text=True)
    tables, _titles = page_tables(html)
    ended = [c for c in ("q1", "q2", "q3", "q4") if periods.period(current, c).end <= dates.now()]
    assert [k for k in tables if k.startswith("q")] == ended
    for code in ("q1", "q2", "q3", "q4"):
        if code not in ended:
            assert "เผยแพร่ตั้งแต่วันที่" in html
    if not ended:
        assert 'id="stats-none"' in html


def test_no_content_category_or_source(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
    html = client.get("/stats?fiscal_year=2569").get_data(as_text=True)
    # (the definition of "received" names letters and calls in general: sources are never tabulated)
    for absent in ("เรื่อง A", "เรื่อง D", "คำตอบ", "การจัดซื้อจัดจ้าง", "การเรียกรับสินบน", "หนังสือ/จดหมาย",
                   "10 พฤศจิกายน", "ปช 1/2568", "พฤศจิกายน 2568", "data-source"):  # fmt: skip
        assert absent not in html, absent
    assert "<script" not in html


def test_rule_hides_the_stage_together_on_every_table_ending_that_day() -> None:
    small = public.with_total({"corruption": figures.Counts(received=3, pending=1, in_progress=2)})
    large = public.with_total({"corruption": figures.Counts(received=6, pending=3, in_progress=3)})
    q2_end, q1_end = bkk(2026, 4, 1, 0), bkk(2026, 1, 1, 0)
    hidden = public.hidden_cells({"q1": (q1_end, large), "q2": (q2_end, small), "h1": (q2_end, large)})
    assert hidden["q1"] == frozenset()
    both = {(row, f) for row in ("corruption", "all") for f in public.SPLIT}
    assert hidden["q2"] == hidden["h1"] == both  # H1 ends with Q2: the same stages, hidden alike
    shown = public.hidden_cells({"q1": (q1_end, public.with_total({"corruption": figures.Counts(received=3,
                                                                                                 pending=3)}))})
    assert shown["q1"] == frozenset()  # three complaints, all pending: no stage of one or two


def test_files_hold_exactly_the_cells_of_the_page(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, factory):
        build_known_cases(factory, session)
    for view in ("quarters", "halves"):
        client.set_cookie("lang", "en")  # the page in English; the files are Thai all the same
        html = client.get(f"/stats?fiscal_year=2569&view={view}").get_data(as_text=True)
        client.set_cookie("lang", "th")
        thai = client.get(f"/stats?fiscal_year=2569&view={view}").get_data(as_text=True)
        thai_titles = page_tables(thai)[1]
        cells, _english_titles = page_tables(html)
        on_page = by_title(cells, thai_titles)
        xlsx = client.get(f"/stats.xlsx?fiscal_year=2569&view={view}")
        assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
        assert xlsx_tables(xlsx.data) == on_page
        pdf = client.get(f"/stats.pdf?fiscal_year=2569&view={view}")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert pdf_tables(pdf.data) == on_page
        assert any(v is None for rows in on_page.values() for r in rows.values() for v in r.values())


def test_bad_year_or_view_is_a_clear_400(app: Flask, client: FlaskClient) -> None:
    for url in ("/stats?fiscal_year=abc", "/stats?fiscal_year=2500", "/stats?view=monthly",
                "/stats.pdf?fiscal_year=abc", "/stats.xlsx?view=x"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 400, url
        assert "noindex" in response.headers["X-Robots-Tag"]
    html = client.get("/stats").get_data(as_text=True)
    assert f'<option selected value="{periods.current_fiscal_year()}">' in html


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
        public_before = [public.stats(session, 2569, view) for view in public.VIEWS]
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
        assert [t.counts for v in public.VIEWS for t in public.stats(session, 2569, v).tables] == [
            t.counts for s in public_before for t in s.tables
        ]
        q1 = before[1]
        assert q1.period.code == "q1" and q1.by_category["bribery"] == figures.Counts(
            carried_over=1, received=1, pending=1, resolved=1
        )  # A, and the purged case: still counted
