"""Publishing answers: plaintext by design, in the wording an officer edited to identify nobody."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import dates
from ..models import Case, Officer, PublishedAnswer


def publish(session: Session, case: Case, officer: Officer, question: str, answer: str) -> PublishedAnswer:
    """A new public question and answer from a case (the caller checked the asker's consent)."""
    row = PublishedAnswer(
        case_id=case.id,
        question=question.strip(),
        answer=answer.strip(),
        published_at=dates.now(),
        officer_id=officer.id,
    )
    session.add(row)
    session.flush()
    return row


def unpublish(session: Session, answer: PublishedAnswer) -> None:
    session.delete(answer)
    session.flush()


def for_case(session: Session, case_id: int) -> list[PublishedAnswer]:
    return list(
        session.scalars(
            select(PublishedAnswer).where(PublishedAnswer.case_id == case_id).order_by(PublishedAnswer.id)
        )
    )


def listing(session: Session, limit: int = 200) -> list[PublishedAnswer]:
    """The newest published answers first."""
    return list(
        session.scalars(
            select(PublishedAnswer)
            .order_by(PublishedAnswer.published_at.desc(), PublishedAnswer.id.desc())
            .limit(limit)
        )
    )
