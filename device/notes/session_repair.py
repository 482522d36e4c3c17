"""Repairs one session folder after a crash: finalizes unfinished answers, notes orphans, settles
compressed copies, marks the session interrupted, transcribes and compresses what is missing."""

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import soundfile as sf

from audio.compress import DURATION_TOLERANCE_S, compress_answer, decode
from audio.recognizer import transcribe_whole
from audio.wavfile import finalize_part
from audio.worker import NewRecognizer
from common.errors import SessionDamaged
from common.files import PART_SUFFIX, fsync_dir
from device.notes import record as session_record
from device.notes import sealing
from device.notes.archive import set_aside
from device.notes.record import (
    AUDIO_NAME,
    COMPRESSED_FORMATS,
    COMPRESSED_SUFFIXES,
    RECORD_NAME,
    RESERVE_NAME,
    TRANSCRIPT_NAME,
    AnswerStatus,
    DataLayout,
    EndedBy,
    Raw,
    SessionStatus,
    new_answer,
    transcript_markdown,
)

if TYPE_CHECKING:  # recovery runs the repairs
    from device.notes.recovery import RecoveryReport

log = logging.getLogger("device.notes.recovery")  # one logger for everything recovery does

PART_NAME = re.compile(r"(\d{2,})\.wav" + re.escape(PART_SUFFIX))
COMPRESSED_PART = re.compile(r"(\d{2,})\.(" + "|".join(COMPRESSED_FORMATS) + ")" + re.escape(PART_SUFFIX))
FEED_S = 0.2


def _mtime_iso(paths: list[Path]) -> str | None:
    times = [p.stat().st_mtime for p in paths if p.exists()]
    return datetime.fromtimestamp(max(times)).astimezone().isoformat(timespec="seconds") if times else None


class SessionRepair:
    """Repairs one session folder, noting what it did in `report` (a recovery.RecoveryReport)."""

    def __init__(
        self,
        data_dir: Path,
        folder: Path,
        report: "RecoveryReport",
        new_recognizer: NewRecognizer | None,
        audio_format: str,
    ):
        self.data_dir = data_dir
        self.folder = folder
        self.report = report
        self.new_recognizer = new_recognizer
        self.audio_format = audio_format
        self.record: Raw = {}
        """session.json as read by run() (empty until then)."""

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.data_dir))

    def run(self) -> None:
        self._remove_leftovers()
        read = self._read_record()
        if read is None:
            return
        self.record = read
        self.report.removed += [self._rel(path) for path in sealing.settle(self.folder, self.record)]
        if session_record.is_sealed(self.record):
            return  # finished and sealed: nothing plain is left to repair
        self.last_write = _mtime_iso([p for p in self.folder.iterdir() if p.is_file()])
        changed = self._finalize_parts()
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
                if source.exists() or (self.folder / name[: -len(PART_SUFFIX)]).exists():
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

    def _read_record(self) -> Raw | None:
        if not (self.folder / RECORD_NAME).exists():
            self._no_record()
            return None
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
        session_record.sort_answers(self.record)
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

    def _answers(self) -> dict[int, Raw]:
        return {
            a["index"]: a for a in self.record["answers"] if isinstance(a, dict) and isinstance(a.get("index"), int)
        }

    def _question(self, index: int) -> str:
        questions = self.record["questions"]
        return questions[index - 1] if 0 < index <= len(questions) and isinstance(questions[index - 1], str) else ""

    def _add_interrupted(self, index: int, audio: str | None, duration_s: float) -> None:
        session_record.append_answer(
            self.record,
            new_answer(index, self._question(index), audio, duration_s, AnswerStatus.INTERRUPTED, EndedBy.INTERRUPTED),
        )

    def _finalize_parts(self) -> bool:
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
            frames = finalize_part(part, final, self.record["sample_rate"])
            answer = self._answers().get(index)
            if frames is None:
                log.info(
                    "answer %d of session %s was interrupted before any audio was written", index, self.folder.name
                )
                self.report.removed.append(self._rel(part))
                if answer is None:
                    self._add_interrupted(index, None, 0.0)
                    changed = True
                continue
            log.info(
                "answer %d of session %s was interrupted; finalized %.1f s of audio",
                index,
                self.folder.name,
                frames / _rate_of(final),
            )
            self.report.repaired.append(self._rel(final))
            if answer is None:
                self._add_interrupted(index, final.name, frames / _rate_of(final))
            else:
                session_record.set_interrupted_audio(answer, final.name, frames / _rate_of(final))
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
            compressed = next(
                (p for p in (self.folder / f"{stem}{suffix}" for suffix in COMPRESSED_SUFFIXES) if p.exists()), None
            )
            if compressed is None:
                continue
            kept = compressed
            if wav.exists():
                complete = _same_length(wav, compressed)
                if not complete:
                    log.warning(
                        "answer %s of session %s: the compressed copy is incomplete; keeping the WAV",
                        stem,
                        self.folder.name,
                    )
                kept, doomed = (compressed, wav) if complete else (wav, compressed)
                doomed.unlink()
                fsync_dir(self.folder)
                self.report.removed.append(self._rel(doomed))
            if audio != kept.name:
                session_record.set_audio(answer, kept.name)
                changed = True
        return changed

    def _note_orphans(self) -> bool:
        """Answer files the notes do not mention (a crash between finalizing and noting)."""
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
        session_record.mark_interrupted(self.record, self.last_write)  # before recovery touched its files
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
                transcript = transcribe_whole(self.new_recognizer(rate), samples, rate, FEED_S)
            except Exception as error:
                log.error(
                    "could not transcribe answer %s of session %s: %s",
                    answer["index"],
                    self.folder.name,
                    type(error).__name__,
                )
                self.report.problems.append(f"{self._rel(path)}: not transcribed ({type(error).__name__})")
                continue
            session_record.set_transcript(answer, transcript)
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
            session_record.set_audio(answer, compressed.name)
            self._save()
            self.report.compressed.append(self._rel(compressed))


def _rate_of(path: Path) -> int:
    return int(sf.info(str(path)).samplerate)


def _same_length(wav: Path, compressed: Path) -> bool:
    try:
        a, b = sf.info(str(wav)), sf.info(str(compressed))
    except (sf.SoundFileError, OSError):
        return False
    return bool(abs(a.frames / a.samplerate - b.frames / b.samplerate) <= DURATION_TOLERANCE_S)
