"""Looking back (opt-in, `reflection.look_back`): an earlier answer to the question just answered, from about a
month or a year ago, offered once. Never a sealed answer, never one dated by an unset clock, never one offered
before (the offers are kept in the data dir)."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from common.files import atomic_write_text
from device.notes.across_time import Heard
from device.notes.archive import Archive
from device.notes.record import DataLayout

log = logging.getLogger(__name__)

CHOICES = ("off", "month", "year")
"""reflection.look_back: no offers, or offers from about a month or about a year before."""
AGO = {"month": (timedelta(days=30), timedelta(days=9)), "year": (timedelta(days=365), timedelta(days=30))}
"""How long ago an offered answer was given: about (target, give or take)."""


@dataclass(frozen=True)
class OffersMade:
    """The answers already offered (look_back.json: "session-id/index" strings); the one owner of that file."""

    path: Path

    def made(self) -> set[str]:
        try:
            saved = json.loads(self.path.read_text())
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as error:
            log.warning("cannot read the look-back offers (%s); offering none this time", error)
            return {"*"}
        return (
            {item for item in saved.get("offered", []) if isinstance(item, str)} if isinstance(saved, dict) else set()
        )

    def add(self, heard: Heard) -> None:
        made = sorted(self.made() - {"*"} | {key(heard)})
        atomic_write_text(self.path, json.dumps({"offered": made}, indent=2) + "\n")


def key(heard: Heard) -> str:
    return f"{heard.session.id}/{heard.answer.index}"


def earlier_answer(data_dir: Path, question: str, now: datetime, ago: str) -> Heard | None:
    """The answer to `question` closest to `ago` ("month" or "year") before `now` that may be offered, or None."""
    target, slack = AGO[ago]
    offers = OffersMade(DataLayout(Path(data_dir)).looked_back)
    made = offers.made()
    if "*" in made:
        return None
    archive = Archive(data_dir)
    found = []
    for summary in archive.sessions():
        age = now - summary.started_at
        if abs(age - target) > slack:
            continue
        session = archive.load(summary.id)
        if session.sealed or not session.clock_trusted:
            continue
        found += [
            Heard(session, a)
            for a in session.answers
            if a.question == question and a.audio is not None and key(Heard(session, a)) not in made
        ]
    if not found:
        return None
    chosen = min(found, key=lambda h: abs(now - h.session.started_at - target))
    offers.add(chosen)
    return chosen
