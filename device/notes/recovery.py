"""Start-up recovery: finish what a crash, a power cut or a kill left half done in the notes.

Run before the device takes its first press. The temp files of the data dir's own atomic writes (the change
token, the sequence counter, ...) are removed, unless only some sessions are named. Then, for each session folder:
- leftovers of atomic writes (`.*.tmp`), of a compression cut short
  (`NN.opus.part` beside its WAV) and the session's space reserve are removed;
- an unfinished answer (`NN.wav.part`) is sealed into a playable `NN.wav` from its
  length and noted as `interrupted` (its entry added if the crash came first);
- an answer file session.json does not know of is noted as `interrupted`;
- a WAV whose compressed copy was completed is replaced by that copy;
- a session still `in_progress` becomes `interrupted`;
- answers with audio but no transcript are transcribed, if a model is given;
- answers still in WAV are then compressed, if an `audio_format` other than "wav" is given.
- a sealing cut short is finished either way (sealing.settle): a session whose session.json says it
  is sealed loses every plain copy of what was said; one that does not keeps its plain files and
  loses the `.age` files written so far (the next sealing pass seals it again);
- the search index loses every word of a sealed session it still holds (a kill before it was updated);
A session.json that cannot be read moves the folder to `damaged/` (never deleted).

Every change is a rename, an atomic write or a repair that is redone the same
way, so recovery can itself be killed at any point and run again; running it
on recovered notes changes nothing.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from audio.recognizer import AnswerRecognizer, ModelLoader
from audio.worker import NewRecognizer, Worker
from common.files import atomic_tmp
from common.wording import counted
from device.notes.archive import Archive
from device.notes.record import DataLayout, is_sealed
from device.notes.session_repair import SessionRepair

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    """What recovery did, as file paths relative to the data dir (never anything that was said)."""

    repaired: list[str] = field(default_factory=list)
    """Unfinished answers sealed into playable files."""
    noted: list[str] = field(default_factory=list)
    """Answer files added to their session.json."""
    interrupted: list[str] = field(default_factory=list)
    """Sessions marked interrupted."""
    transcribed: list[str] = field(default_factory=list)
    compressed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Leftover temporary files and empty folders removed."""
    set_aside: list[str] = field(default_factory=list)
    """Unreadable session folders moved to damaged/."""
    unindexed: list[str] = field(default_factory=list)
    """Sealed sessions whose words the search index still held, removed from it."""
    problems: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    """Every session folder looked at."""

    @property
    def changed(self) -> bool:
        return any(
            (
                self.repaired,
                self.noted,
                self.interrupted,
                self.transcribed,
                self.compressed,
                self.removed,
                self.set_aside,
                self.unindexed,
            )
        )

    def summary(self) -> str:
        parts = [
            f"{len(v)} {k.replace('_', ' ')}" for k, v in vars(self).items() if v and k not in ("problems", "sessions")
        ]
        if self.problems:
            parts.append(counted(len(self.problems), "problem"))
        return "recovery: " + (", ".join(parts) if parts else "nothing to do")


def recover(
    data_dir: Path,
    model: ModelLoader | None = None,
    *,
    new_recognizer: NewRecognizer | None = None,
    audio_format: str = "wav",
    only: Collection[str] | None = None,
) -> RecoveryReport:
    """Repair every session under `data_dir` (or only the folders named in `only`); return what was done.

    `model` is a ModelLoader (or anything with `.get()` returning a Vosk model), or
    None to leave missing transcripts null for a later pass; `new_recognizer(rate)`
    overrides it (tests). With `audio_format` "opus" or "flac" (storage.audio_format), answers still in
    WAV are compressed to it after their transcripts; "wav" leaves them as they are.
    Never run it on a session that is being recorded: run it before the first press,
    or with `only` naming sessions that existed before.
    """
    data_dir = Path(data_dir)
    report = RecoveryReport()
    if new_recognizer is None and model is not None:
        new_recognizer = lambda rate: AnswerRecognizer(model.get(), rate)  # noqa: E731 (bound once, beside its test-given twin)
    layout = DataLayout(data_dir)
    if only is None:  # nothing else is writing: a temp file of the data dir's own is a kill's leftover
        for tmp in map(atomic_tmp, layout.replaced_whole):
            if tmp.is_file():
                tmp.unlink()
                report.removed.append(tmp.name)
    sessions = layout.sessions
    try:
        folders = sorted(entry for entry in sessions.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except FileNotFoundError:
        return report
    sealed = set()
    for folder in folders:
        if only is not None and folder.name not in only:
            continue
        report.sessions.append(folder.name)
        repair = SessionRepair(data_dir, folder, report, new_recognizer, audio_format)
        try:
            repair.run()
        except Exception as error:  # one bad folder must not stop the others, nor the device
            log.error("recovery of session %s failed", folder.name, exc_info=log.isEnabledFor(logging.DEBUG))  # -v: why
            report.problems.append(f"{folder.name}: {type(error).__name__}")
        if repair.record is not None and is_sealed(repair.record):
            sealed.add(folder.name)
    try:
        report.unindexed = Archive(data_dir).forget_sealed(sealed)
    except Exception as error:  # the index is a cache: a broken one must not stop the device either
        log.exception("recovery could not check the search index")
        report.problems.append(f"index: {type(error).__name__}")
    for problem in report.problems:
        log.warning("recovery: %s", problem)
    if report.changed or report.problems:
        log.info("%s", report.summary())
    return report


def recover_at_start(
    data_dir: Path,
    worker: Worker | None = None,
    model: ModelLoader | None = None,
    *,
    new_recognizer: NewRecognizer | None = None,
    audio_format: str = "wav",
) -> RecoveryReport:
    """Start-up: repair the notes now (fast, no model), then on the recognizer's worker (`worker.later`),
    after the model has loaded, transcribe what is missing and compress to `audio_format` what is still WAV,
    only for the sessions that existed now."""
    report = recover(data_dir)
    later = model is not None or new_recognizer is not None or audio_format != "wav"
    if worker is not None and later and report.sessions:
        sessions = frozenset(report.sessions)
        worker.later(
            lambda: recover(data_dir, model, new_recognizer=new_recognizer, audio_format=audio_format, only=sessions)
        )
    return report


def recover_command(data_dir: Path, model: ModelLoader | None = None, audio_format: str = "wav") -> int:
    """`reflect recover`: repair, transcribe and compress (to `audio_format`) now; prints what was done
    (never what was said)."""
    code, text = recovered(data_dir, model, audio_format)
    print(text)
    return code


def recovered(data_dir: Path, model: ModelLoader | None = None, audio_format: str = "wav") -> tuple[int, str]:
    """Recover now; return the exit code (1 on problems) and the summary, each folder set aside and each problem."""
    report = recover(data_dir, model, audio_format=audio_format)
    lines = (
        [report.summary()]
        + [f"  set aside: {line}" for line in report.set_aside]
        + [f"  problem: {line}" for line in report.problems]
    )
    return (1 if report.problems else 0), "\n".join(lines)
