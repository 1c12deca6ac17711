"""enum columns checked by the database; entries.public dropped

Revision ID: e469820fba67
Revises: b0ac3b42fdf3
Create Date: 2026-12-03 09:00:00

Every column that holds an enum value (channel, source, category, status, agency, entry kind, key kind,
role) gets a CHECK constraint naming the values it may hold; the columns stay VARCHAR of the same length,
so every row keeps its value. `entries.public` goes: it was true for every entry the citizen sees and
read nowhere (which key encrypts a body, `entries.key`, decides what the citizen may read).

On SQLite, batch mode rebuilds each table by copying it (intake/migrate.py turns foreign-key enforcement
off around the migration, so that dropping the old copy cascades to nothing). The value lists are
written out here, not read from the models, so that this revision stays what it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e469820fba67"
down_revision = "b0ac3b42fdf3"
branch_labels = None
depends_on = None

CHANNEL = ("corruption", "feedback", "question")
STATUS = ("new", "acknowledged", "in_progress", "referred", "resolved", "dismissed")
SOURCE = ("web", "phone", "letter", "walk_in", "box", "facebook", "line", "email", "other")
CATEGORY = ("bribery", "procurement", "abuse_of_position", "embezzlement", "favouritism", "other")
AGENCY = ("nacc", "pacc", "damrongdhama", "province", "other")
ENTRY_KIND = ("submission", "contact", "followup", "reply", "status", "note", "assign", "referral")
KEY_KIND = ("content", "internal")
ROLE = ("admin", "officer", "executive")

# table -> [(constraint name, column, allowed values)]
CHECKS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "cases": [
        ("ck_cases_channel", "channel", CHANNEL),
        ("ck_cases_source", "source", SOURCE),
        ("ck_cases_category", "category", CATEGORY),
        ("ck_cases_status", "status", STATUS),
        ("ck_cases_agency", "referred_to", AGENCY),
    ],
    "entries": [
        ("ck_entries_entry_kind", "kind", ENTRY_KIND),
        ("ck_entries_status", "status", STATUS),
        ("ck_entries_key_kind", "key", KEY_KIND),
    ],
    "attachments": [("ck_attachments_key_kind", "key", KEY_KIND)],
    "officers": [("ck_officers_role", "role", ROLE)],
    "grants": [("ck_grants_channel", "channel", CHANNEL)],
    "channel_keys": [("ck_channel_keys_channel", "channel", CHANNEL)],
}


def _condition(column: str, values: tuple[str, ...]) -> sa.ColumnElement[bool]:
    return sa.column(column).in_(values)


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, values in checks:
                batch_op.create_check_constraint(op.f(name), _condition(column, values))
            if table == "entries":
                batch_op.drop_column("public")


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _column, _values in checks:
                batch_op.drop_constraint(op.f(name), type_="check")
            if table == "entries":
                batch_op.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))
    # What it held: true for the entries the citizen's timeline shows.
    entries = sa.table("entries", sa.column("kind"), sa.column("public", sa.Boolean()))
    op.execute(
        entries.update()
        .where(entries.c.kind.in_(("submission", "followup", "reply", "status")))
        .values(public=True)
    )
