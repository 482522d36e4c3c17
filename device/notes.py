"""One session's notes on disk: a folder of answer recordings, session.json and transcript.md."""
import json
import threading
from datetime import datetime
from pathlib import Path

from audio.recognizer import Transcript
from common.files import atomic_write_text, private_dir
from content.packs import Pack

FORMAT_VERSION = 1
SESSIONS = "sessions"


def sessions_dir(data_dir: Path) -> Path:
    return data_dir / SESSIONS


def _new_folder(data_dir: Path, started: datetime) -> Path:
    """A fresh folder named by the start time, with -2, -3 ... if that second is taken."""
    parent = private_dir(sessions_dir(data_dir))
    base = started.strftime("%Y-%m-%d_%H%M%S")
    for n in range(1, 1000):
        folder = parent / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir(mode=0o700)
            return private_dir(folder)
        except FileExistsError:
            continue
    raise FileExistsError(f"too many sessions started at {base}")


def answer_audio_name(index: int) -> str:
    return f"{index:02d}.wav"


class SessionNotes:
    """Keeps session.json and transcript.md true after every change; safe to update from two threads."""

    def __init__(self, folder: Path, record: dict):
        self.folder = folder
        self.record = record
        self._lock = threading.Lock()

    @classmethod
    def begin(cls, data_dir: Path, pack: Pack, sample_rate: int, now: datetime | None = None) -> "SessionNotes":
        started = (now or datetime.now()).astimezone()
        folder = _new_folder(data_dir, started)
        record = {
            "version": FORMAT_VERSION,
            "id": folder.name,
            "pack": {"id": pack.id, "title": pack.title, "language": pack.language},
            "started_at": started.isoformat(timespec="seconds"),
            "ended_at": None,
            "status": "in_progress",
            "sample_rate": sample_rate,
            "questions": list(pack.questions),
            "answers": [],
        }
        notes = cls(folder, record)
        notes.save()
        return notes

    @property
    def id(self) -> str:
        return self.record["id"]

    def audio_path(self, index: int) -> Path:
        return self.folder / answer_audio_name(index)

    def add_answer(self, index: int, audio: str | None, duration_s: float, status: str, ended_by: str) -> None:
        """Record a finished answer; its transcript follows later (null until then)."""
        with self._lock:
            self.record["answers"].append({
                "index": index,
                "question": self.record["questions"][index - 1],
                "audio": audio,
                "duration_s": round(duration_s, 3),
                "transcript": "" if audio is None else None,
                "words": [],
                "status": status,
                "ended_by": ended_by,
            })
            self._save()

    def set_transcript(self, index: int, transcript: Transcript | None) -> None:
        """Fill in an answer's transcript (None: recognition failed, the audio stays the record)."""
        with self._lock:
            answer = next(a for a in self.record["answers"] if a["index"] == index)
            answer["transcript"] = transcript.text if transcript else ""
            answer["words"] = [vars(w) for w in transcript.words] if transcript else []
            self._save()

    def finish(self, status: str) -> None:
        with self._lock:
            self.record["status"] = status
            self.record["ended_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
            self._save()

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        atomic_write_text(self.folder / "session.json", json.dumps(self.record, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(self.folder / "transcript.md", transcript_markdown(self.record))


def transcript_markdown(record: dict) -> str:
    """A readable transcript, question by question."""
    started = datetime.fromisoformat(record["started_at"])
    lines = [f"# {record['pack']['title']}", "", f"{started:%A %d %B %Y, %H:%M}", ""]
    answers = {a["index"]: a for a in record["answers"]}
    for index, question in enumerate(record["questions"], start=1):
        answer = answers.get(index)
        lines += [f"## {index}. {question}", ""]
        if answer is None:
            lines.append("*(not reached)*")
        elif answer["status"] == "skipped":
            lines.append("*(skipped)*")
        elif answer["transcript"] is None:
            lines.append("*(still being transcribed)*")
        else:
            lines.append(answer["transcript"] or "*(no words recognised; the recording is kept)*")
        if answer and answer["audio"]:
            lines += ["", f"Recording: {answer['audio']} ({answer['duration_s']:.1f} s)"]
        lines.append("")
    return "\n".join(lines)
