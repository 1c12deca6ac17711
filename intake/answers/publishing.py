"""Publishing answers: plaintext by design, in the wording an officer edited to identify nobody.

`publish_answer` and `unpublish_answer` are the officer operations (their rules and audit entries);
`publish` and `unpublish` only write the rows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, bodies, dates
from ..models import Case, Channel, Officer, PublishedAnswer, Role


class NoConsent(Exception):
    """Only a question whose asker agreed to publication can be published."""


class AnswerNotFound(Exception):
    """No such published answer that this officer may withdraw (the web answers 404)."""


def may_publish(case: Case, body: bodies.Body) -> bool:
    return case.channel == Channel.QUESTION and isinstance(body, bodies.QuestionBody) and body.publish_ok


def publish_answer(
    session: Session, case: Case, officer: Officer, body: bodies.Body, question: str, answer: str
) -> PublishedAnswer:
    """Publish an edited question and answer from a case whose asker consented; raises NoConsent."""
    if not may_publish(case, body):
        raise NoConsent(str(case.id))
    row = publish(session, case, officer, question, answer)
    audit.record(session, officer.username, "answer.publish", case.number, f"answer={row.id}")
    return row


def unpublish_answer(session: Session, officer: Officer, answer_id: int) -> Case | None:
    """Withdraw a published answer: an officer of its case's channel, or an administrator for one whose
    case is gone. Returns the case (None when it is gone); raises AnswerNotFound."""
    answer = session.get(PublishedAnswer, answer_id)
    if answer is None:
        raise AnswerNotFound(str(answer_id))
    case = session.get(Case, answer.case_id) if answer.case_id is not None else None
    if case is None and officer.role != Role.ADMIN:
        raise AnswerNotFound(str(answer_id))
    if case is not None and case.channel not in officer.channels:
        raise AnswerNotFound(str(answer_id))
    case_id = case.number if case is not None else answer.case_id
    unpublish(session, answer)
    audit.record(session, officer.username, "answer.unpublish", case_id, f"answer={answer_id}")
    return case


def publish(session: Session, case: Case, officer: Officer, question: str, answer: str) -> PublishedAnswer:
    """A new public question and answer row (publish_answer checks the asker's consent)."""
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
