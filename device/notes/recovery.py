"""Start-up recovery: finish what a crash, a power cut or a kill left half done in the notes.

Run before the device takes its first press. For each session folder:
- leftovers of atomic writes (`.*.tmp`), of a compression cut short
  (`NN.opus.part` beside its WAV) and the session's space reserve are removed;
- an unfinished answer (`NN.wav.part`) is sealed into a playable `NN.wav` from its
  length and noted as `interrupted` (its entry added if the crash came first);
- an answer file session.json does not know of is noted as `interrupted`;
- a WAV whose compressed copy was completed is replaced by that copy;
- a session still `in_progress` becomes `interrupted`;
- answers with audio but no transcript are transcribed, if a model is given;
- answers still in WAV are then compressed, if an `audio_format` other than "wav" is given.
A session.json that cannot be read moves the folder to `damaged/` (never deleted).

Every change is a rename, an atomic write or a repair that is redone the same
way, so recovery can itself be killed at any point and run again; running it
on recovered notes changes nothing.
"""
import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import soundfile as sf

from audio.compress import compress_answer, decode
from audio.recognizer import AnswerRecognizer
from audio.wavfile import PART_SUFFIX, seal_part
from common.errors import SessionDamaged
from common.files import fsync_dir
from device.notes.archive import set_aside
from device.notes import record as session_record
from device.notes.record import (
    AUDIO_NAME, RECORD_NAME, RESERVE_NAME, TRANSCRIPT_NAME, AnswerStatus, DataLayout, EndedBy, SessionStatus,
    new_answer, transcript_markdown,
)

log = logging.getLogger(__name__)

PART_NAME = re.compile(r"(\d{2,})\.wav" + re.escape(PART_SUFFIX))
COMPRESSED_PART = re.compile(r"(\d{2,})\.(opus|flac)" + re.escape(PART_SUFFIX))
DURATION_TOLERANCE_S = 0.02
FEED_S = 0.2

NewRecognizer = Callable[[int], object]


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
    problems: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    """Every session folder looked at."""

    @property
    def changed(self) -> bool:
        return any((self.repaired, self.noted, self.interrupted, self.transcribed, self.compressed,
                    self.removed, self.set_aside))

    def summary(self) -> str:
        parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in vars(self).items() if v and k not in ("problems", "sessions")]
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s)")
        return "recovery: " + (", ".join(parts) if parts else "nothing to do")


def recover(data_dir: Path, model=None, *, new_recognizer: NewRecognizer | None = None,
            audio_format: str = "wav", only: Collection[str] | None = None) -> RecoveryReport:
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
        new_recognizer = lambda rate: AnswerRecognizer(model.get(), rate)  # noqa: E731
    sessions = DataLayout(data_dir).sessions
    try:
        folders = sorted(entry for entry in sessions.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except FileNotFoundError:
        return report
    for folder in folders:
        if only is not None and folder.name not in only:
            continue
        report.sessions.append(folder.name)
        try:
            _SessionRecovery(data_dir, folder, report, new_recognizer, audio_format).run()
        except Exception as error:  # one bad folder must not stop the others, nor the device
            log.exception("recovery of session %s failed", folder.name)
            report.problems.append(f"{folder.name}: {type(error).__name__}")
    for problem in report.problems:
        log.warning("recovery: %s", problem)
    if report.changed or report.problems:
        log.info("%s", report.summary())
    return report


def _mtime_iso(paths: list[Path]) -> str | None:
    times = [p.stat().st_mtime for p in paths if p.exists()]
    return datetime.fromtimestamp(max(times)).astimezone().isoformat(timespec="seconds") if times else None


class _SessionRecovery:
    def __init__(self, data_dir: Path, folder: Path, report: RecoveryReport, new_recognizer, audio_format: str):
        self.data_dir = data_dir
        self.folder = folder
        self.report = report
        self.new_recognizer = new_recognizer
        self.audio_format = audio_format
        self.record: dict | None = None

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.data_dir))

    def run(self) -> None:
        self._remove_leftovers()
        self.record = self._read_record()
        if self.record is None:
            return
        self.last_write = _mtime_iso([p for p in self.folder.iterdir() if p.is_file()])
        changed = self._seal_parts()
        changed |= self._note_orphans()
        changed |= self._settle_compressed()
        changed |= self._mark_interrupted()
        if changed:
            self._save()
        self._transcribe()
        if self.audio_format != "wav":
            self._compress()
        self._ensure_markdown()

    # -- leftovers ------------------------------------------------------------------------------

    def _remove_leftovers(self) -> None:
        removed = False
        for path in sorted(self.folder.iterdir()):
            name = path.name
            compressed_part = COMPRESSED_PART.fullmatch(name)
            doomed = (name.startswith(".") and name.endswith(".tmp")) or name == RESERVE_NAME
            if compressed_part:
                source = self.folder / f"{compressed_part.group(1)}.wav"
                if source.exists() or (self.folder / name[:-len(PART_SUFFIX)]).exists():
                    doomed = True  # the WAV (or the finished copy) is the answer; the part is a copy cut short
                else:
                    self.report.problems.append(f"{self._rel(path)}: compressed part without its source; left alone")
            if doomed and path.is_file():
                path.unlink()
                self.report.removed.append(self._rel(path))
                removed = True
        if removed:
            fsync_dir(self.folder)

    # -- session.json ---------------------------------------------------------------------------

    def _read_record(self) -> dict | None:
        if not (self.folder / RECORD_NAME).exists():
            return self._no_record()
        try:
            raw = session_record.read(self.folder)
        except SessionDamaged as damage:
            self._set_aside(str(damage))
            return None
        problem = session_record.repair_problem(raw)
        if problem:
            self._set_aside(problem)
            return None
        return raw

    def _no_record(self) -> None:
        """A folder without session.json: empty ones (a crash at the very start) go; others are set aside."""
        if not any(self.folder.iterdir()):
            self.folder.rmdir()
            fsync_dir(self.folder.parent)
            self.report.removed.append(self._rel(self.folder))
            log.info("removed empty session folder %s", self.folder.name)
        else:
            self._set_aside("session.json is missing")

    def _set_aside(self, reason: str) -> None:
        target = set_aside(self.folder, DataLayout(self.data_dir).damaged, reason)
        self.report.set_aside.append(self._rel(target))

    def _save(self) -> None:
        self.record["answers"].sort(key=lambda a: a["index"])
        session_record.write(self.folder, self.record)
        self._ensure_markdown()

    def _ensure_markdown(self) -> None:
        """transcript.md as session.json says (a crash can fall between the two writes)."""
        try:
            text = transcript_markdown(self.record)
        except (KeyError, TypeError, ValueError) as error:
            self.report.problems.append(f"{self.folder.name}: transcript.md not rebuilt ({type(error).__name__})")
            return
        path = self.folder / TRANSCRIPT_NAME
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        session_record.write_transcript(self.folder, self.record)

    # -- answers --------------------------------------------------------------------------------

    def _answers(self) -> dict[int, dict]:
        return {a["index"]: a for a in self.record["answers"] if isinstance(a, dict) and isinstance(a.get("index"), int)}

    def _question(self, index: int) -> str:
        questions = self.record["questions"]
        return questions[index - 1] if 0 < index <= len(questions) and isinstance(questions[index - 1], str) else ""

    def _add_interrupted(self, index: int, audio: str | None, duration_s: float) -> None:
        self.record["answers"].append(new_answer(index, self._question(index), audio, duration_s,
                                                 AnswerStatus.INTERRUPTED, EndedBy.INTERRUPTED))

    def _seal_parts(self) -> bool:
        changed = False
        for part in sorted(self.folder.glob("*" + PART_SUFFIX)):
            match = PART_NAME.fullmatch(part.name)
            if not match:
                continue
            index = int(match.group(1))
            final = self.folder / f"{match.group(1)}.wav"
            if final.exists():
                self.report.problems.append(f"{self._rel(part)}: {final.name} exists too; left alone")
                continue
            frames = seal_part(part, final, self.record["sample_rate"])
            answer = self._answers().get(index)
            if frames is None:
                log.info("answer %d of session %s was interrupted before any audio was written", index, self.folder.name)
                self.report.removed.append(self._rel(part))
                if answer is None:
                    self._add_interrupted(index, None, 0.0)
                    changed = True
                continue
            log.info("answer %d of session %s was interrupted; sealed %.1f s of audio",
                     index, self.folder.name, frames / _rate_of(final))
            self.report.repaired.append(self._rel(final))
            if answer is None:
                self._add_interrupted(index, final.name, frames / _rate_of(final))
            else:
                answer.update(audio=final.name, status=AnswerStatus.INTERRUPTED, duration_s=round(frames / _rate_of(final), 3))
            changed = True
        return changed

    def _settle_compressed(self) -> bool:
        """A WAV beside its finished compressed copy: the copy was checked before its rename, so it replaces the WAV."""
        changed = False
        for answer in self._answers().values():
            audio = answer.get("audio")
            if not isinstance(audio, str) or not AUDIO_NAME.fullmatch(audio):
                continue
            stem = audio.split(".")[0]
            wav = self.folder / f"{stem}.wav"
            compressed = next((p for p in (self.folder / f"{stem}.opus", self.folder / f"{stem}.flac") if p.exists()), None)
            if compressed is None:
                continue
            if wav.exists():
                if not _same_length(wav, compressed):
                    log.warning("answer %s of session %s: the compressed copy is incomplete; keeping the WAV",
                                stem, self.folder.name)
                    compressed.unlink()
                    fsync_dir(self.folder)
                    self.report.removed.append(self._rel(compressed))
                    if audio != wav.name:
                        answer["audio"] = wav.name
                        changed = True
                    continue
                wav.unlink()
                fsync_dir(self.folder)
                self.report.removed.append(self._rel(wav))
            if audio != compressed.name:
                answer["audio"] = compressed.name
                changed = True
        return changed

    def _note_orphans(self) -> bool:
        """Answer files the notes do not mention (a crash between sealing and noting)."""
        changed = False
        known = self._answers()
        for path in sorted(self.folder.iterdir()):
            match = AUDIO_NAME.fullmatch(path.name)
            if not match or int(match.group(1)) in known:
                continue
            index = int(match.group(1))
            try:
                info = sf.info(str(path))
                duration = info.frames / info.samplerate
            except (sf.SoundFileError, OSError, ZeroDivisionError):
                duration = 0.0
            self._add_interrupted(index, path.name, duration)
            known = self._answers()
            self.report.noted.append(self._rel(path))
            log.info("answer %d of session %s was saved but not noted; noted as interrupted", index, self.folder.name)
            changed = True
        return changed

    def _mark_interrupted(self) -> bool:
        if self.record.get("status") != SessionStatus.IN_PROGRESS:
            return False
        self.record["status"] = SessionStatus.INTERRUPTED
        if not self.record.get("ended_at"):
            self.record["ended_at"] = self.last_write  # when its files last changed, before recovery touched them
        self.report.interrupted.append(self._rel(self.folder))
        log.info("session %s was interrupted; marked so", self.folder.name)
        return True

    def _transcribe(self) -> None:
        if self.new_recognizer is None:
            return
        for answer in list(self._answers().values()):
            audio = answer.get("audio")
            if answer.get("transcript") is not None or not isinstance(audio, str):
                continue
            path = self.folder / audio
            try:
                samples, rate = decode(path)
                recognizer = self.new_recognizer(rate)
                step = max(1, int(rate * FEED_S))
                for start in range(0, len(samples), step):
                    recognizer.feed(samples[start:start + step])
                transcript = recognizer.finish()
            except Exception as error:
                log.error("could not transcribe answer %s of session %s: %s",
                          answer["index"], self.folder.name, type(error).__name__)
                self.report.problems.append(f"{self._rel(path)}: not transcribed ({type(error).__name__})")
                continue
            answer["transcript"] = transcript.text
            answer["words"] = [vars(w) for w in transcript.words]
            self._save()  # one answer at a time: a kill keeps what was done
            self.report.transcribed.append(self._rel(path))

    def _compress(self) -> None:
        for answer in list(self._answers().values()):
            audio = answer.get("audio")
            if not isinstance(audio, str) or not audio.endswith(".wav") or not (self.folder / audio).exists():
                continue
            try:
                compressed = compress_answer(self.folder / audio, self.audio_format)
            except Exception as error:
                self.report.problems.append(f"{self.folder.name}/{audio}: not compressed ({type(error).__name__})")
                continue
            answer["audio"] = compressed.name
            self._save()
            self.report.compressed.append(self._rel(compressed))


def _rate_of(path: Path) -> int:
    return sf.info(str(path)).samplerate


def _same_length(wav: Path, compressed: Path) -> bool:
    try:
        a, b = sf.info(str(wav)), sf.info(str(compressed))
    except (sf.SoundFileError, OSError):
        return False
    return abs(a.frames / a.samplerate - b.frames / b.samplerate) <= DURATION_TOLERANCE_S


def recover_at_start(data_dir: Path, transcriber=None, model=None, *,
                     new_recognizer: NewRecognizer | None = None, audio_format: str = "wav") -> RecoveryReport:
    """Start-up: repair the notes now (fast, no model), then on the recognizer's worker (`transcriber.later`),
    after the model has loaded, transcribe what is missing and compress to `audio_format` what is still WAV,
    only for the sessions that existed now."""
    report = recover(data_dir)
    later = model is not None or new_recognizer is not None or audio_format != "wav"
    if transcriber is not None and later and report.sessions:
        sessions = frozenset(report.sessions)
        transcriber.later(lambda: recover(data_dir, model, new_recognizer=new_recognizer,
                                          audio_format=audio_format, only=sessions))
    return report


def recover_command(data_dir: Path, model=None, audio_format: str = "wav") -> int:
    """`reflect recover`: repair, transcribe and compress (to `audio_format`) now; prints what was done
    (never what was said)."""
    report = recover(data_dir, model, audio_format=audio_format)
    print(report.summary())
    for line in report.set_aside:
        print(f"  set aside: {line}")
    for line in report.problems:
        print(f"  problem: {line}")
    return 1 if report.problems else 0
