"""One question across time: every answer given to it, oldest first, found in the saved sessions."""

from dataclasses import dataclass
from datetime import date

from common.errors import DateInvalid, SessionNotFound
from device.notes.archive import Archive
from device.notes.record import Answer, AnswerStatus, Session


@dataclass(frozen=True)
class Heard:
    """One answer to the question, and the session it was given in."""

    session: Session
    answer: Answer


@dataclass(frozen=True)
class AcrossTime:
    """The question, its readable answers oldest first, and how many answers sealed sessions keep from us."""

    question: str
    answers: tuple[Heard, ...]
    sealed: int


def parse_date(text: str) -> date:
    """A date from the command line (YYYY-MM-DD); DateInvalid in one line if it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DateInvalid(f"{text[:40]!r} is not a date like 2026-03-04") from None


def chosen_question(latest: Session, number: int | None) -> str:
    """Question `number` (1-based) of the latest session; by default the last one answered in it."""
    if number is None:
        said = [a for a in latest.answers if a.status != AnswerStatus.SKIPPED]
        number = said[-1].index if said else 1
    if not 1 <= number <= len(latest.questions):
        raise SessionNotFound(f"the latest session has no question {number} (it has {len(latest.questions)})")
    return latest.questions[number - 1]


def across_time(archive: Archive, number: int | None = None, since: date | None = None) -> AcrossTime:
    """Every recorded answer to question `number` of the latest session (the same words, in any session) since
    `since`, oldest first; answers in sealed sessions are counted, not read."""
    sessions = [archive.load(summary.id) for summary in archive.sessions()]
    if not sessions:
        raise SessionNotFound("there are no saved sessions yet")
    question = chosen_question(max(sessions, key=_when), number)
    answers, sealed = [], 0
    for session in sorted(sessions, key=_when):
        if since is not None and session.started_at.date() < since:
            continue
        for answer in session.answers:
            if answer.question != question or answer.audio is None:
                continue
            if session.sealed:
                sealed += 1
            else:
                answers.append(Heard(session, answer))
    return AcrossTime(question, tuple(answers), sealed)


def _when(session: Session) -> tuple[float, int]:
    """Date order (a record without a UTC offset counts as local time), then the device's own count."""
    return session.started_at.timestamp(), session.seq
