"""Where a citizen can go outside the municipality: the national agencies' public hotlines and addresses.

Shown on the home page and every channel's page (a complaint about the mayor, the executives or the
legal-affairs unit itself may be safer with them), on the privacy notice and on the complaint slip's
advice. These are the agencies' own published contact points: the NACC (สำนักงาน ป.ป.ช.) hotline 1205,
the PACC (สำนักงาน ป.ป.ท.) hotline 1206 and the Damrongdhama Center (ศูนย์ดำรงธรรม) 1567, each with its
website and head office. They change rarely; when they do, change them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Agency:
    key: str
    short: Any  # the name people use (สำนักงาน ป.ป.ช.)
    name: Any
    role: Any
    hotline: str
    website: str
    address: Any


AGENCIES = (
    Agency(
        "nacc",
        _l("NACC"),
        _l("Office of the National Anti-Corruption Commission (NACC)"),
        _l("Corruption by any official, executives and elected members of local government included."),
        "1205",
        "www.nacc.go.th",
        _l(
            "361 Nonthaburi Road, Tha Sai, Mueang Nonthaburi, Nonthaburi 11000, or the NACC office of "
            "your province"
        ),
    ),
    Agency(
        "pacc",
        _l("PACC"),
        _l("Office of the Public Sector Anti-Corruption Commission (PACC)"),
        _l("Corruption by government officials and employees."),
        "1206",
        "www.pacc.go.th",
        _l(
            "99 Moo 4, Software Park Building, 2nd floor, Chaeng Watthana Road, Khlong Kluea, Pak Kret, "
            "Nonthaburi 11120"
        ),
    ),
    Agency(
        "damrongdhama",
        _l("Damrongdhama Center"),
        _l("Damrongdhama Center, Ministry of Interior"),
        _l("Complaints about any public office, local government included, and cases left unanswered."),
        "1567",
        "www.damrongdhama.moi.go.th",
        _l("The Damrongdhama Center at the provincial hall of every province"),
    ),
)
