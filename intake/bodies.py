"""The submission body: what the citizen gave (or an officer recorded), typed per channel, and its labels.

The body is the JSON of a case's SUBMISSION entry, encrypted under the case's content key. Its schema,
named here once (version 1; every reader goes through `from_json`):

    corruption  {"details": str, "category": str | null, "when_where": str, "involved": str}
    feedback    {"details": str, "service": str, "rating": 1..5 | null}
    question    {"details": str, "publish_ok": bool}

Missing keys take their defaults (an offline case carries what the officer typed, often `details` only);
unknown keys are ignored; a value of the wrong type becomes the default rather than an error, so a body
written by an older version always opens. `category` is also a plaintext column of the case (a fixed list,
for statistics); the body keeps the citizen's own choice.

The labels are the questions the citizen saw on the form (citizen/forms.py takes them from here, and the
contact and files questions from i18n), so the officer's case page and the citizen's tracking page show
each answer under the same words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from flask_babel import lazy_gettext as _l

from .i18n import CATEGORY_LABELS, RATING_LABELS
from .models import Category, Channel

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CorruptionBody:
    details: str
    category: str | None = None
    when_where: str = ""
    involved: str = ""


@dataclass(frozen=True)
class FeedbackBody:
    details: str
    service: str = ""
    rating: int | None = None


@dataclass(frozen=True)
class QuestionBody:
    details: str
    publish_ok: bool = False


Body = CorruptionBody | FeedbackBody | QuestionBody
TYPES: dict[str, type[CorruptionBody] | type[FeedbackBody] | type[QuestionBody]] = {
    Channel.CORRUPTION.value: CorruptionBody,
    Channel.FEEDBACK.value: FeedbackBody,
    Channel.QUESTION.value: QuestionBody,
}

# The form's question for each answer, per channel, in the order the form asks them.
LABELS: dict[str, dict[str, Any]] = {
    Channel.CORRUPTION.value: {
        "details": _l("What happened?"),
        "category": _l("What kind of wrongdoing is it?"),
        "when_where": _l("When and where did it happen? (optional)"),
        "involved": _l("Who was involved? (optional)"),
    },
    Channel.FEEDBACK.value: {
        "service": _l("Which service or work of the municipality is it about? (optional)"),
        "rating": _l("Your rating (optional)"),
        "details": _l("Your comment"),
    },
    Channel.QUESTION.value: {
        "details": _l("Your question"),
        "publish_ok": _l(
            "The municipality may publish my question and its answer, without any of my details."
        ),
    },
}
YES, NO = _l("Yes"), _l("No")
NOT_SURE = _l("Not sure")
NO_RATING = _l("No rating")
CATEGORIES = tuple(c.value for c in Category)


def label(channel: str, name: str) -> Any:
    return LABELS[channel][name]


def _clean(value: Any, default: Any, kind: type) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else default
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5
        return value if ok else default
    return value if isinstance(value, str) else default


def from_json(channel: str, data: Any) -> Body:
    """The typed body of a decrypted SUBMISSION entry (tolerant: see the module docstring)."""
    cls = TYPES[channel]
    raw = data if isinstance(data, dict) else {}
    values: dict[str, Any] = {}
    for f in fields(cls):
        default = "" if f.name == "details" else f.default
        kind = {"rating": int, "publish_ok": bool}.get(f.name, str)
        values[f.name] = _clean(raw.get(f.name), default, kind)
    if channel == Channel.CORRUPTION and values.get("category") not in CATEGORIES:
        values["category"] = None
    return cls(**values)


def to_json(body: Body) -> dict[str, Any]:
    """What is encrypted: the body's fields and the schema version."""
    return {"v": SCHEMA_VERSION, **asdict(body)}


def channel_of(body: Body) -> str:
    for channel, cls in TYPES.items():
        if isinstance(body, cls):
            return channel
    raise TypeError(type(body).__name__)


def category_of(body: Body) -> str | None:
    """The plaintext category column of a case with this body (corruption only)."""
    return body.category if isinstance(body, CorruptionBody) else None


@dataclass(frozen=True)
class Answer:
    """One answer as people read it: the form's question, the answer in words, and its field name.

    `label` and `text` are in the language of the page that shows them (read lazily)."""

    name: str
    label: Any
    value: Any

    @property
    def given(self) -> bool:
        """False: left empty (the officer sees it said so, so that nothing looks lost)."""
        if self.name == "publish_ok":
            return True
        return bool(str(self.value or "").strip())

    @property
    def text(self) -> str:
        if self.name == "category":
            return str(CATEGORY_LABELS[self.value]) if self.value else str(NOT_SURE)
        if self.name == "rating":
            return str(RATING_LABELS[str(self.value)]) if self.value else str(NO_RATING)
        if self.name == "publish_ok":
            return str(YES if self.value else NO)
        return str(self.value or "")


def answers(body: Body) -> list[Answer]:
    """Every answer of the body, in the form's order, under the form's labels (empty ones included)."""
    values = asdict(body)
    return [Answer(name, question, values.get(name)) for name, question in LABELS[channel_of(body)].items()]


def subject(body: Body, words: int = 60) -> str:
    """A short subject for the queue: the start of the main text, cut at a space where there is one."""
    text = " ".join(body.details.split())
    if len(text) <= words:
        return text
    cut = text[:words]
    space = cut.rfind(" ")
    if space >= words // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"
