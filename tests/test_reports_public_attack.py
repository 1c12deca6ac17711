"""The subtraction attack on /stats: no cell hidden under the small-count rule can be worked out.

The attacker reads everything published for two fiscal years (both views, every table; the PDF and the XLSX
hold the same cells, checked here too) and knows every identity between the figures: each row's total is
carried over plus received and also pending + in progress + referred + closed; the totals row is the sum
of the channels; a half and the year add up their quarters' received and closed and start with the first
quarter's carried over; tables that end on the same day show the same stage; what is open at the end of
a quarter is carried over into the next, across the years too. The worlds below never reopen a case, so
these identities hold exactly (checked on the shown cells). Every hidden cell is an unknown; the system is
solved exactly (fractions), and what is left free is searched exhaustively over whole numbers from 0 to
the row's total, keeping only the solutions in which the rule would have hidden what it hid. Each hidden
cell must keep at least two possible values, its true one among them.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import cases, keyring
from intake.models import Channel, Status
from intake.reports import periods, public

from .conftest import PASSWORD
from .officer_helpers import world
from .reports_helpers import bkk
from .stats_helpers import Cells, by_title, page_tables, pdf_tables, xlsx_tables

YEARS = (2568, 2569)
Cell = tuple[int, str, str, str]  # fiscal year, table key, row, figure
CHILDREN = {"h1": ("q1", "q2"), "h2": ("q3", "q4"), "year": ("q1", "q2", "q3", "q4")}
PATHS = [  # status histories that never reopen a case
    [], [Status.ACKNOWLEDGED], [Status.IN_PROGRESS], [Status.ACKNOWLEDGED, Status.IN_PROGRESS],
    [Status.REFERRED], [Status.IN_PROGRESS, Status.REFERRED], [Status.RESOLVED], [Status.DISMISSED],
    [Status.IN_PROGRESS, Status.RESOLVED], [Status.ACKNOWLEDGED, Status.REFERRED, Status.RESOLVED],
]  # fmt: skip


def build_world(app: Flask, seed: int) -> None:
    """A small municipality: a few corruption complaints over two years, some feedback and questions."""
    rng = random.Random(seed)
    start, end = bkk(2024, 10, 1, 8), bkk(2026, 9, 30, 18)
    span = (end - start).total_seconds()
    with world(app) as (session, factory):
        admin = factory.legal()  # every channel, corruption included
        private = keyring.unlock(admin, PASSWORD)
        for _ in range(rng.randint(8, 16)):
            channel = rng.choice([Channel.CORRUPTION] * 3 + [Channel.FEEDBACK, Channel.QUESTION])
            received = start + timedelta(seconds=rng.random() * span)
            case = factory.case(channel, "เรื่องทดสอบ", received_at=received).case
            keys = cases.officer_keys(session, admin, private, case)
            at = received
            for status in rng.choice(PATHS):
                at = at + timedelta(days=rng.randint(1, 120))
                if at >= end:
                    break
                cases.change_status(session, case, admin, keys, status, at=at)
        session.commit()


def published(client: FlaskClient) -> dict[Cell, int | None]:
    """Every cell of both views of both years (a table shown in both views must agree)."""
    cells: dict[Cell, int | None] = {}
    for year in YEARS:
        for view in public.VIEWS:
            tables, _titles = page_cells(client, year, view)
            for key, rows in tables.items():
                for row, figures in rows.items():
                    for figure, value in figures.items():
                        cell = (year, key, row, figure)
                        assert cells.setdefault(cell, value) == value, cell
    return cells


def truth(app: Flask) -> dict[Cell, int]:
    with world(app) as (session, _factory):
        out: dict[Cell, int] = {}
        for year in YEARS:
            for view in public.VIEWS:
                for t in public.stats(session, year, view).tables:
                    for row, counts in t.counts.items():
                        for figure in public.PUBLIC_FIGURES:
                            out[(year, t.key, row, figure)] = int(getattr(counts, figure))
    return out


def identities(cells: dict[Cell, int | None]) -> list[dict[Cell, int]]:
    """Every linear identity between published cells, as {cell: coefficient} summing to zero."""
    tables = sorted({(y, k) for y, k, _r, _f in cells})
    rows = ("corruption", "feedback", "question", "all")
    eqs: list[dict[Cell, int]] = []

    def add(terms: list[tuple[Cell, int]]) -> None:
        if all(cell in cells for cell, _c in terms):
            eq: dict[Cell, int] = {}
            for cell, coefficient in terms:
                eq[cell] = eq.get(cell, 0) + coefficient
            eqs.append(eq)

    for y, k in tables:
        for r in rows:
            add([((y, k, r, "total"), 1), ((y, k, r, "carried_over"), -1), ((y, k, r, "received"), -1)])
            add([((y, k, r, "total"), 1), *(((y, k, r, f), -1) for f in ("pending", "in_progress", "referred",
                                                                           "closed"))])  # fmt: skip
        for f in public.PUBLIC_FIGURES:
            add([((y, k, "all", f), 1), *(((y, k, c, f), -1) for c in rows[:3])])
    ends: dict[datetime, list[tuple[int, str]]] = {}
    for y, k in tables:
        p = periods.period(y, k) if not k.startswith("ytd-") else periods.year_to(y, k[4:])
        ends.setdefault(p.end, []).append((y, k))
    for same in ends.values():
        for (y1, k1), (y2, k2) in itertools.pairwise(same):
            for r in rows:
                for f in public.SPLIT:
                    add([((y1, k1, r, f), 1), ((y2, k2, r, f), -1)])
    for y, _k in tables:
        for parent, children in CHILDREN.items():
            for r in rows:
                for f in ("received", "closed"):
                    add([((y, parent, r, f), 1), *(((y, c, r, f), -1) for c in children)])
                add([((y, parent, r, "carried_over"), 1), ((y, children[0], r, "carried_over"), -1)])
    chain = [(y, q) for y in YEARS for q in ("q1", "q2", "q3", "q4")]
    for (y1, q1), (y2, q2) in itertools.pairwise(chain):
        for r in rows:
            add([((y2, q2, r, "carried_over"), 1), *(((y1, q1, r, f), -1) for f in public.SPLIT)])
    return eqs


def possible_values(cells: dict[Cell, int | None]) -> dict[Cell, set[int]]:
    """What the attacker can say of each hidden cell: every value some consistent solution gives it."""
    unknown = sorted(c for c, v in cells.items() if v is None)
    index = {c: i for i, c in enumerate(unknown)}
    matrix: list[list[Fraction]] = []
    for eq in identities(cells):
        row = [Fraction(0)] * (len(unknown) + 1)
        for cell, coefficient in eq.items():
            value = cells[cell]
            if value is None:
                row[index[cell]] += coefficient
            else:
                row[-1] -= coefficient * value
        if any(row[:-1]):
            matrix.append(row)
        else:
            assert row[-1] == 0, f"an identity does not hold on the shown cells: {eq}"
    pivots = _reduce(matrix, len(unknown))
    bound = {c: cells[(c[0], c[1], c[2], "total")] for c in unknown}
    pivot_of = {col: r for r, col in pivots.items()}
    free = [i for i in range(len(unknown)) if i not in pivot_of]
    out: dict[Cell, set[int]] = {c: set() for c in unknown}
    for component in _components(matrix, pivots, free, len(unknown)):
        comp_free = [i for i in component if i in free]
        ranges = [range(int(bound[unknown[i]] or 0) + 1) for i in comp_free]
        for values in itertools.product(*ranges):
            assign: dict[int, Fraction | int] = dict(zip(comp_free, values, strict=True))
            for col in component:
                if col in pivot_of:
                    r = matrix[pivot_of[col]]
                    assign[col] = r[-1] - sum(r[j] * assign[j] for j in comp_free)
            if not all(v.denominator == 1 if isinstance(v, Fraction) else True for v in assign.values()):
                continue
            if not all(0 <= assign[i] <= (bound[unknown[i]] or 0) for i in component):
                continue
            if not _rule_would_hide(unknown, assign):
                continue
            for i in component:
                out[unknown[i]].add(int(assign[i]))
    return out


def _reduce(matrix: list[list[Fraction]], n: int) -> dict[int, int]:
    """Reduced row echelon form in place; returns {row: pivot column}."""
    pivots: dict[int, int] = {}
    r = 0
    for col in range(n):
        found = next((i for i in range(r, len(matrix)) if matrix[i][col] != 0), None)
        if found is None:
            continue
        matrix[r], matrix[found] = matrix[found], matrix[r]
        lead = matrix[r][col]
        matrix[r] = [x / lead for x in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][col] != 0:
                factor = matrix[i][col]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[r], strict=True)]
        pivots[r] = col
        r += 1
    for extra in matrix[r:]:
        assert extra[-1] == 0, "the published cells contradict the identities"
    return pivots


def _components(
    matrix: list[list[Fraction]], pivots: dict[int, int], free: list[int], n: int
) -> list[set[int]]:
    """Unknowns that share an equation, grouped (each group is searched on its own)."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r, col in pivots.items():
        for j in free:
            if matrix[r][j] != 0:
                parent[find(j)] = find(col)
    groups: dict[int, set[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), set()).add(i)
    return list(groups.values())


def _rule_would_hide(unknown: list[Cell], assign: dict[int, Fraction | int]) -> bool:
    """A solution is only consistent if, in each table whose corruption stage is hidden and fully assigned
    here, some stage holds 1 or 2 complaints (else the rule would have shown it)."""
    stages: dict[tuple[int, str], list[int]] = {}
    for i, value in assign.items():
        year, key, row, figure = unknown[i]
        if row == public.PROTECTED and figure in public.SPLIT:
            stages.setdefault((year, key), []).append(int(value))
    return all(len(v) < 3 or any(x in public.SMALL for x in v) for v in stages.values())


def page_cells(client: FlaskClient, year: int, view: str) -> tuple[Cells, dict[str, str]]:
    return page_tables(client.get(f"/stats?fiscal_year={year}&view={view}").get_data(as_text=True))


@pytest.mark.parametrize("seed", range(6))
def test_no_hidden_cell_can_be_worked_out(app: Flask, client: FlaskClient, seed: int) -> None:
    build_world(app, seed)
    cells = published(client)
    real = truth(app)
    shown = {c: v for c, v in cells.items() if v is not None}
    assert shown == {c: real[c] for c in shown}
    hidden = [c for c, v in cells.items() if v is None]
    assert hidden, "the world is small enough for the rule to hide something"
    for cell, options in possible_values(cells).items():
        assert real[cell] in options, (cell, options)
        assert len(options) >= 2, f"{cell} is worked out as {options}"


def test_the_files_add_nothing(app: Flask, client: FlaskClient) -> None:
    """The PDF and the XLSX hold the page's cells, hidden ones hidden: an attack on them is the same."""
    build_world(app, 0)
    for year in YEARS:
        for view in public.VIEWS:
            tables, titles = page_cells(client, year, view)
            on_page = by_title(tables, titles)
            assert xlsx_tables(client.get(f"/stats.xlsx?fiscal_year={year}&view={view}").data) == on_page
            assert pdf_tables(client.get(f"/stats.pdf?fiscal_year={year}&view={view}").data) == on_page
