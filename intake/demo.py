"""The demo instance: its officers and a year and a half of realistic Thai cases, made by domain operations.

Development only (`flask --app wsgi demo`, which `make demo` runs). Every case is submitted, followed up,
acknowledged, answered, referred, joined, rated and published through the same operations the pages call,
each at a moment of its own in the previous and the current fiscal year (`dates.as_of`), so that the queue,
the case pages, the officers' report, /stats, /faq, /ita and the guideline all have something true to show:
an overdue complaint, one referred to the NACC, a follow-up with a photo, a duplicate, an offline letter,
a published answer, a rating. Seeding happens once (the setting `demo.seeded`); running it again changes
nothing and prints the same sign-ins.

The demo's tracking codes are written to `instance/demo-tracking-codes.txt` so that a visitor can follow a
case from the citizen's side: a real instance never keeps a code anywhere (only its keyed hash).
"""

from __future__ import annotations

import base64
import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import attachments, audit, bodies, cases, crypto, dates, keyring, settings, uploads
from .answers import publishing
from .models import Agency, Channel, HostAdmin, Officer, Role, Source, Status
from .officer import signin
from .storage import Store

PASSWORD = "demo-password-only"  # noqa: S105 - printed for the quick start, development only
RECOVERY = "demo recovery passphrase, never for real cases"  # noqa: S105 - the same
SEEDED = "demo.seeded"
CODES_FILE = "demo-tracking-codes.txt"
MUNICIPALITY = "เทศบาลตำบลตัวอย่าง"
# A fixed secret so that the printed one stays right however often the demo is set up (demo only).
TOTP_SECRET = bytes(range(1, 21))


@dataclass(frozen=True)
class DemoOfficer:
    name: str
    role: Role
    channels: tuple[str, ...]
    may_th: str
    may_en: str
    totp: bool = False


OFFICERS = (
    DemoOfficer(
        "admin", Role.ADMIN, ("feedback", "question"),
        "ผู้ดูแลระบบ: บัญชีเจ้าหน้าที่ การตั้งค่า ข้อเสนอแนะและคำถาม (ไม่เห็นเรื่องทุจริต)",
        "administrator: accounts, settings, feedback and questions (never the corruption channel)",
    ),
    DemoOfficer(
        "legal", Role.OFFICER, ("corruption",),
        "งานนิติการ: เรื่องร้องเรียนการทุจริต (ต้องใช้รหัสยืนยันตัวตนสองชั้น)",
        "legal-affairs unit: corruption complaints (needs a TOTP code)",
        totp=True,
    ),
    DemoOfficer(
        "pr", Role.OFFICER, ("feedback", "question"),
        "งานประชาสัมพันธ์: ข้อเสนอแนะและคำถาม",
        "public relations: feedback and questions",
    ),
    DemoOfficer(
        "executive", Role.EXECUTIVE, (),
        "ผู้บริหาร: รายงานสถิติ ไม่เห็นเนื้อหาเรื่อง",
        "executive: the reports, no case content",
    ),
)


@dataclass
class Seeded:
    """What a first seeding made: tracking codes worth trying, by what they show."""

    codes: dict[str, str] = field(default_factory=dict)
    cases: int = 0


def photo(text: str, colour: tuple[int, int, int]) -> bytes:
    """A small JPEG 'phone photo' (drawn, so the demo ships no picture of anyone)."""
    image = Image.new("RGB", (480, 320), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 200, 440, 300), fill=(90, 90, 90))
    draw.ellipse((180, 230, 300, 280), fill=(40, 40, 40))
    draw.text((20, 20), text, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


class Seeder:
    """Submits and handles the demo cases, each step at its own moment."""

    def __init__(self, session: Session, store: Store, now: datetime, max_file: int) -> None:
        self.session, self.store, self.now, self.max_file = session, store, now, max_file
        self.officers = {o.username: o for o in session.scalars(select(Officer))}
        self.privates = {name: keyring.unlock(o, PASSWORD) for name, o in self.officers.items()}
        self.made = Seeded()

    def clean(self, files: list[tuple[bytes, str]] | None) -> list[attachments.CleanFile]:
        """The files cleaned and named as a citizen's are who did not tick "keep the names" (ไฟล์แนบ-1.jpg)."""
        policy = attachments.Policy(self.max_file, keep_names=False, neutral_stem=uploads.neutral_stem())
        return attachments.inspect_all([(io.BytesIO(data), name) for data, name in files or []], policy)

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def submit(self, days: float, channel: str, body: dict[str, object], *, source: Source = Source.WEB,
               contact: str | None = None, files: list[tuple[bytes, str]] | None = None,
               by: str | None = None) -> cases.Submitted:
        clean = self.clean(files)
        def put_on_record(made: cases.Submitted) -> None:  # an officer recorded it, as /officer/intake does
            audit.record(
                self.session, str(by), "case.intake", made.case.number, f"source={source.value}; demo"
            )

        with dates.as_of(self.ago(days)):
            submitted = cases.submit(
                self.session, channel=Channel(channel), body=bodies.from_json(channel, body), contact=contact,
                files=clean, store=self.store, source=source,
                received_at=dates.received_from_date(dates.local_date(self.ago(days))) if by else None,
                officer=self.officers[by] if by else None,
                before_commit=put_on_record if by else None,
            )
        self.made.cases += 1
        return submitted

    def keys(self, who: str, submitted: cases.Submitted) -> cases.CaseKeys:
        officer = self.officers[who]
        return cases.officer_keys(self.session, officer, self.privates[who], submitted.case)

    def act(self, days: float, who: str, submitted: cases.Submitted, step: str, *args: object,
            **kwargs: object) -> None:
        """One officer operation (cases.<step>) at `days` ago, committed as the page would."""
        officer = self.officers[who]
        with dates.as_of(self.ago(days)):
            operation = getattr(cases, step)
            if step == "assign":
                operation(self.session, submitted.case, officer, *args)
            else:
                operation(self.session, submitted.case, officer, self.keys(who, submitted), *args, **kwargs)
            self.session.commit()

    def follow_up(self, days: float, submitted: cases.Submitted, message: str,
                  files: list[tuple[bytes, str]] | None = None) -> None:
        clean = self.clean(files)
        with dates.as_of(self.ago(days)):
            found = cases.find_by_token(self.session, submitted.token)
            cases.add_followup(self.session, found, message, clean, self.store)

    def rate(self, days: float, submitted: cases.Submitted, rating: int, comment: str) -> None:
        with dates.as_of(self.ago(days)):
            found = cases.find_by_token(self.session, submitted.token)
            cases.rate(self.session, found, rating, comment)
            self.session.commit()

    def publish(self, days: float, who: str, submitted: cases.Submitted, question: str, answer: str) -> None:
        officer = self.officers[who]
        keys = self.keys(who, submitted)
        with dates.as_of(self.ago(days)):
            body = cases.submission_of(submitted.case, keys)
            publishing.publish_answer(self.session, submitted.case, officer, body, question, answer)
            self.session.commit()

    def code(self, what: str, submitted: cases.Submitted) -> None:
        self.made.codes[what] = submitted.token


def _stories(s: Seeder) -> None:
    """The cases a visitor meets on the tour: every channel, source and state."""
    # Corruption (legal): referred to the NACC last fiscal year.
    c1 = s.submit(230, "corruption", {
        "details": "เจ้าหน้าที่กองช่างเรียกรับเงิน 5,000 บาท เพื่อเร่งออกใบอนุญาตก่อสร้างบ้านของผม",
        "category": "bribery", "when_where": "ต้นเดือนที่แล้ว ที่ห้องกองช่าง สำนักงานเทศบาล",
        "involved": "เจ้าหน้าที่ผู้ชายที่รับคำขออนุญาตก่อสร้าง"})
    s.act(228, "legal", c1, "acknowledge")
    s.act(225, "legal", c1, "add_note", "ตรวจทะเบียนคำขออนุญาตแล้ว พบคำขอที่ค้างเกินกำหนด 3 ราย")
    s.act(214, "legal", c1, "refer", Agency.NACC, "ปช 0012/2568", dates.local_date(s.ago(214)).isoformat(),
          "ส่งเรื่องให้สำนักงาน ป.ป.ช. ประจำจังหวัดพิจารณาแล้ว", public=True)
    s.code("ร้องเรียนทุจริต ส่งต่อ ป.ป.ช. / corruption referred to the NACC", c1)
    # Corruption: in progress, the citizen followed up with a photo (needs attention).
    c2 = s.submit(26, "corruption", {
        "details": "โครงการถนนคอนกรีตหมู่ 4 ใช้ปูนน้อยกว่าแบบ ผิวถนนแตกภายในสองเดือน ผู้รับเหมาเป็นญาติของผู้บริหาร",
        "category": "procurement", "when_where": "ถนนสายหมู่ 4 ไปหมู่ 7", "involved": "ผู้รับเหมาโครงการ"},
        contact="ขอไม่เปิดเผยชื่อ ติดต่อทางไลน์ได้")
    s.act(24, "legal", c2, "acknowledge")
    s.act(20, "legal", c2, "change_status", Status.IN_PROGRESS, "กำลังขอเอกสารสัญญาจ้างจากกองคลัง")
    s.follow_up(6, c2, "ส่งรูปถนนที่แตกเพิ่มเติมครับ ถ่ายเมื่อวานนี้",
                files=[(photo("road km 2", (120, 110, 100)), "IMG_2031.jpg")])
    s.code("ร้องเรียนทุจริต ผู้ร้องส่งรูปเพิ่มเติม / corruption with a follow-up and a photo", c2)
    # Corruption: received ten days ago, never acknowledged: overdue.
    s.submit(10, "corruption", {
        "details": "มีการเบิกค่าล่วงเวลาของพนักงานที่ไม่ได้มาทำงานจริงในวันหยุด", "category": "embezzlement"})
    # Corruption: an offline letter the legal unit recorded three days ago.
    s.submit(3, "corruption", {
        "details": "จดหมายร้องเรียน: การจัดซื้อวัสดุสำนักงานราคาสูงกว่าท้องตลาด", "category": "procurement"},
        source=Source.LETTER, by="legal")

    # Feedback (pr): answered, resolved and rated last fiscal year.
    f1 = s.submit(300, "feedback", {
        "details": "ไฟส่องสว่างหน้าโรงเรียนบ้านโนนดับมาสองสัปดาห์ เด็กกลับบ้านมืดมาก", "service": "ไฟฟ้าสาธารณะ",
        "rating": 2}, contact="081-234-5678")
    s.act(299, "pr", f1, "acknowledge")
    s.act(296, "pr", f1, "reply", "กองช่างได้เปลี่ยนหลอดไฟ 4 จุดหน้าโรงเรียนแล้ว ขอบคุณที่แจ้งเข้ามา")
    s.act(295, "pr", f1, "change_status", Status.RESOLVED, "ซ่อมแล้วเสร็จ", public=True)
    s.rate(290, f1, 4, "แก้ไขเร็ว ขอบคุณครับ")
    s.code("ข้อเสนอแนะ ตอบแล้วและประเมินความพึงพอใจ / feedback answered and rated", f1)
    # Feedback by phone, assigned, in progress; a duplicate of it came through the web.
    f2 = s.submit(40, "feedback", {"details": "ท่อระบายน้ำอุดตัน น้ำท่วมขังหน้าตลาดสดทุกครั้งที่ฝนตก",
                                   "service": "ระบายน้ำ"}, source=Source.PHONE, by="pr")
    s.act(40, "pr", f2, "assign", s.officers["pr"])
    s.act(38, "pr", f2, "change_status", Status.IN_PROGRESS, "นัดรถดูดโคลนเข้าพื้นที่สัปดาห์หน้า", public=True)
    f3 = s.submit(37, "feedback", {"details": "น้ำท่วมหน้าตลาดสดอีกแล้ว ท่อตันมานาน", "rating": 1})
    s.act(36, "pr", f3, "mark_duplicate", f2.case.id)
    s.code("ข้อเสนอแนะ ซ้ำกับเรื่องอื่น / feedback joined with another (a duplicate)", f3)
    # Feedback acknowledged but never answered: past its 15-day answer deadline.
    f4 = s.submit(24, "feedback", {"details": "สุนัขจรจัดในซอยเทศบาล 3 ไล่กัดเด็ก", "service": "สาธารณสุข"})
    s.act(23, "pr", f4, "acknowledge")
    # From the comment box by the door, last year: dismissed.
    f5 = s.submit(150, "feedback", {"details": "อยากให้มีที่จอดรถมากขึ้นหน้าสำนักงาน"}, source=Source.BOX, by="pr")
    s.act(140, "pr", f5, "change_status", Status.DISMISSED, "พื้นที่ไม่เพียงพอ ได้แจ้งผู้บริหารพิจารณาในแผนปีหน้า",
          public=True)

    # Questions: answered and published on /faq (last year and this year), one walk-in still new.
    q1 = s.submit(100, "question", {"details": "ภาษีป้ายต้องยื่นแบบภายในเดือนไหน และยื่นออนไลน์ได้หรือไม่",
                                    "publish_ok": True})
    s.act(99, "admin", q1, "reply", "ยื่นแบบ ภ.ป.1 ภายในเดือนมีนาคมของทุกปี ยื่นได้ที่กองคลังหรือทางอีเมลของเทศบาล")
    s.act(99, "admin", q1, "change_status", Status.RESOLVED)
    s.publish(98, "admin", q1, "ภาษีป้ายต้องยื่นแบบเมื่อไร และยื่นทางออนไลน์ได้หรือไม่",
              "ยื่นแบบ ภ.ป.1 ภายในเดือนมีนาคมของทุกปี ที่กองคลัง หรือส่งทางอีเมลของเทศบาลได้")
    q2 = s.submit(12, "question", {"details": "ขอรับเบี้ยยังชีพผู้สูงอายุต้องใช้เอกสารอะไรบ้าง", "publish_ok": True})
    s.act(11, "pr", q2, "reply", "ใช้บัตรประชาชน ทะเบียนบ้าน และสมุดบัญชีธนาคาร ลงทะเบียนได้ที่สำนักปลัดในวันทำการ")
    s.act(11, "pr", q2, "change_status", Status.RESOLVED)
    s.publish(10, "pr", q2, "ขอรับเบี้ยยังชีพผู้สูงอายุต้องใช้เอกสารอะไร",
              "บัตรประชาชน ทะเบียนบ้าน และสมุดบัญชีธนาคาร ลงทะเบียนที่สำนักปลัดเทศบาลในวันทำการ")
    s.code("คำถาม ตอบและเผยแพร่แล้ว / question answered and published", q2)
    s.submit(2, "question", {"details": "จะขอใช้ห้องประชุมเทศบาลจัดงานบุญต้องทำอย่างไร"}, source=Source.WALK_IN,
             by="pr")


ROUTINE = {
    "feedback": ("ขอให้ตัดกิ่งไม้ที่บังป้ายจราจร", "ถนนเป็นหลุมหน้าบ้านเลขที่ 12", "ขยะไม่ได้เก็บสามวันแล้ว",
                 "ขอบคุณเจ้าหน้าที่ที่ช่วยซ่อมประปารวดเร็ว"),
    "question": ("ต่อใบอนุญาตขายอาหารได้ที่ไหน", "เทศบาลเปิดรับสมัครงานเมื่อไร", "ขอสำเนาทะเบียนบ้านได้ที่ไหน"),
    "corruption": ("มีการใช้รถราชการไปธุระส่วนตัวในวันหยุด", "ผู้รับเหมารายเดิมได้งานทุกโครงการ"),
}


def _one_answered(s: Seeder) -> None:
    """The second municipality's case to track: a feedback answered last week."""
    lamp = s.submit(12, "feedback", {"details": "ขอให้ซ่อมหอกระจายข่าวหมู่ 4 เสียงไม่ชัด"})
    s.act(11, "pr", lamp, "acknowledge")
    s.act(6, "pr", lamp, "reply", "กองช่างเปลี่ยนลำโพงหอกระจายข่าวหมู่ 4 แล้ว")
    s.code("ข้อเสนอแนะ ตอบแล้ว / feedback answered", lamp)


def _routine(s: Seeder, rng: random.Random) -> None:
    """Enough ordinary cases over the two fiscal years for every quarter's figures (small counts hidden)."""
    sources = (Source.WEB, Source.WEB, Source.PHONE, Source.FACEBOOK, Source.LINE, Source.WALK_IN)
    for n in range(42):
        channel = ("feedback", "feedback", "question", "corruption")[n % 4]
        days = rng.uniform(45, 420)
        body: dict[str, object] = {"details": rng.choice(ROUTINE[channel])}
        if channel == "corruption":
            body["category"] = rng.choice(("bribery", "favouritism", "abuse_of_position", "other"))
        source = rng.choice(sources) if channel != "corruption" else Source.WEB
        who = "legal" if channel == "corruption" else "pr"
        submitted = s.submit(days, channel, body, source=source, by=who if source != Source.WEB else None)
        s.act(days - rng.uniform(0.2, 9), who, submitted, "acknowledge")
        if rng.random() < 0.8:
            s.act(days - rng.uniform(9, 20), who, submitted, "reply", "ดำเนินการเรียบร้อยแล้ว ขอบคุณที่แจ้ง")
            s.act(days - rng.uniform(20, 30), who, submitted, "change_status", Status.RESOLVED)


def seed(
    session: Session, store: Store, max_file: int, now: datetime | None = None, *,
    municipality: str = MUNICIPALITY, stories: bool = True, rng: random.Random | None = None,
) -> Seeded | None:
    """Make the demo cases of the tenant acted for, once; None when it has them already. Without `stories`
    (the demo's second municipality) only the routine cases and one answered feedback to track."""
    if settings.with_prefix(session, SEEDED).get(SEEDED) == "1":
        return None
    seeder = Seeder(session, store, now or dates.now(), max_file)
    settings.put(session, "municipality_name", municipality)
    settings.put(session, "contact_phone", "045-000-000")
    settings.put(session, "contact_address", "99 หมู่ 1 ตำบลตัวอย่าง อำเภอเมือง จังหวัดอุบลราชธานี")
    settings.put(session, "contact_hours", "จันทร์–ศุกร์ 08.30–16.30 น.")
    session.commit()
    if stories:
        _stories(seeder)
    else:
        _one_answered(seeder)
    _routine(seeder, rng or random.Random(2569))  # noqa: S311 - demo data, not security
    settings.put(session, SEEDED, "1")
    session.commit()
    return seeder.made


def ensure_officers(session: Session, recovery: bytes) -> None:
    """The demo officers beside setup's administrator; legal enrolled with the demo's TOTP secret."""
    for spec in OFFICERS:
        officer = session.scalar(select(Officer).where(Officer.username == spec.name))
        if officer is None:
            officer = keyring.create_officer(session, spec.name, PASSWORD, spec.role)
            for channel in spec.channels:
                keyring.grant_by_recovery(session, officer, channel, recovery)
            audit.record(session, "cli", "officer.create", spec.name, f"role={spec.role.value}; demo")
        if spec.totp and officer.totp_secret is None:
            signin.enrol(session, officer, keyring.unlock(officer, PASSWORD), TOTP_SECRET, actor="demo")
    session.commit()


HOST_ADMIN = "host"  # the demo's host administrator (/host): the demo password and the demo TOTP secret


def ensure_host_admin(session: Session) -> None:
    """The host administrator of the demo deployment, enrolled with the demo's TOTP secret."""
    from .host import accounts  # not at the top: the host package imports the officer side, as cli does

    if session.scalar(select(HostAdmin.id).where(HostAdmin.username == HOST_ADMIN)) is None:
        admin = accounts.create(session, HOST_ADMIN, PASSWORD, actor="demo")
        accounts.enrol_known(session, admin, TOTP_SECRET, actor="demo")
    session.commit()


def totp_uri(name: str) -> str:
    return crypto.totp_uri(TOTP_SECRET, name, "intake demo")


def totp_base32() -> str:
    return base64.b32encode(TOTP_SECRET).decode()


def current_code() -> str:
    return crypto.totp_now(TOTP_SECRET)


def save_codes(instance: Path, codes: dict[str, str], *, append: bool = False) -> Path:
    path = instance / CODES_FILE
    lines = [] if append and path.exists() else [
        "# DEMO ONLY: tracking codes of the demo cases (a real instance keeps no code anywhere)"
    ]
    lines += [f"{code}  {what}" for what, code in codes.items()]
    with path.open("a" if append else "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return path


def saved_codes(instance: Path) -> list[str]:
    path = instance / CODES_FILE
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
