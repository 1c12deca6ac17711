"""The demo's second municipality: a tenant of its own beside the first, to show one deployment serving many.

Development only (`flask --app wsgi demo` makes it after the first). It answers on the host name
`song.localhost`: browsers send every `*.localhost` name to this machine (RFC 6761), so
http://song.localhost:5000/ reaches the same server as http://127.0.0.1:5000/ and the host name alone picks
the tenant. It has its own server secret, recovery key (keys/recovery-song.key, under the passphrase the
demo was given), channel keys, officers (the same user names as the first: names are unique per tenant
only), cases, tracking codes, settings and audit trail; nothing of one opens anything of the other.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import demo, keyring, settings, tenancy, tenants
from .cli import provision
from .models import Tenant
from .storage import Store

SLUG = "song"
NAME = "องค์การบริหารส่วนตำบลตัวอย่างสอง"
HOST = "song.localhost"
PROVINCE = "อุบลราชธานี"
CODE_PREFIX = "[song.localhost] "


@dataclass(frozen=True)
class SecondMade:
    """What making the second tenant did: its cases (0 when it had them already) and the lines to print."""

    cases: int
    lines: list[str]


def url_of(first_url: str) -> str:
    """The second tenant's address beside the first's: the same scheme and port, its own host name."""
    parts = urlsplit(first_url)
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme or "http", f"{HOST}{port}", parts.path.rstrip("/"), "", ""))


def ensure(session: Session, store: Store, max_file: int, instance: Path) -> SecondMade:
    """Make the second tenant, its keys, officers and a year and a half of cases, once; then act for the
    deployment's first tenant again."""
    lines: list[str] = []
    first = tenancy.first()
    tenancy.forget()  # the cached registry may predate a tenant's recovery key committed since
    tenancy.activate(None)
    tenant = session.scalar(select(Tenant).where(Tenant.slug == SLUG))
    if tenant is None:
        tenant = tenants.create(session, SLUG, NAME, [HOST], PROVINCE)
        session.commit()
        tenancy.forget()
    try:
        tenancy.activate(tenant.id)
        recovery_file = keyring.keys_dir() / keyring.recovery_file_name(tenancy.by_id(tenant.id))
        lines += provision(session, tenant, "admin", recovery_file, allow_keys_dir=True)
        tenancy.forget()  # provision committed the recovery key the registry loaded before the commit
        recovery = keyring.open_recovery(recovery_file, os.environ["INTAKE_RECOVERY_PASSPHRASE"])
        demo.ensure_officers(session, recovery)
        made = demo.seed(
            session, store, max_file, municipality=NAME, stories=False, rng=random.Random(2570),  # noqa: S311
        )
        if made is not None:
            settings.put(session, "contact_phone", "045-000-111")
            session.commit()
            codes = {CODE_PREFIX + what: code for what, code in made.codes.items()}
            demo.save_codes(instance, codes, append=True)
        return SecondMade(made.cases if made is not None else 0, lines)
    finally:
        tenancy.activate(first.id if first is not None else None)
