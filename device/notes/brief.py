"""`reflect brief`: one calm page for the therapy room, in HTML and Markdown: the answers marked "for my therapist"
(or every answer) since a date, each with its question, date, transcript and recording, opened by the pattern.
The dates of each brief are kept in the data dir, for `--since-last-brief`."""

import argparse
import html
import json
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import ExportRefused
from common.files import atomic_write_text, output_dir, private_dir
from device.notes.across_time import Heard, parse_date
from device.notes.archive import Archive
from device.notes.durations import clock
from device.notes.export import copy_audio, md_escape, refuse_replacing
from device.notes.opening import open_archive
from device.notes.owner import own
from device.notes.pattern_chart import Period, pattern_svg
from device.notes.record import DataLayout, Session
from device.notes.spoken_date import date_in_words

if TYPE_CHECKING:  # config imports the notes' record; the brief only reads what it built
    from device.config import Config

HTML_PAGE = "brief.html"
MD_PAGE = "brief.md"
RECORDINGS = "recordings"
"""The folder beside the pages that holds the copied recordings, each named <session>-<file>."""
CSP = "default-src 'none'; media-src 'self' file:; style-src 'unsafe-inline'"
"""No script and no network: the page only shows text, the inline chart and its own recordings."""
STYLE = """
body { font: 17px/1.6 Georgia, 'DejaVu Serif', serif; max-width: 44rem; margin: 2.5rem auto; padding: 0 1.25rem;
       color: #2b2b2b; background: #fbfaf7; }
h1 { font-weight: normal; font-size: 1.9rem; margin-bottom: .2rem; }
h2 { font-weight: normal; font-size: 1.2rem; margin: 0 0 .3rem; }
.meta, .when { color: #6b6b6b; }
figure { margin: 1.5rem 0 2rem; }
article { border-top: 1px solid #e2ded6; padding: 1rem 0 1.2rem; }
audio { width: 100%; margin: .4rem 0; }
.said { white-space: pre-wrap; }
.note { color: #8a4b2e; font-style: italic; }
@media print { body { background: white; } audio { display: none; } article { break-inside: avoid; } }
"""


@dataclass(frozen=True)
class BriefHistory:
    """The dates of the briefs written from one data dir (briefs.json): the one owner of that file's format."""

    path: Path

    def entries(self) -> list[dict[str, str]]:
        try:
            saved = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise ExportRefused(
                f"{self.path} cannot be read ({error}); move it aside to start the history afresh"
            ) from None
        briefs = saved.get("briefs") if isinstance(saved, dict) else None
        return (
            [b for b in briefs if isinstance(b, dict) and isinstance(b.get("at"), str)]
            if isinstance(briefs, list)
            else []
        )

    def last(self) -> datetime | None:
        """When the last brief was written, or None if none was."""
        entries = self.entries()
        return datetime.fromisoformat(entries[-1]["at"]) if entries else None

    def note(self, at: datetime, since: datetime | None, answers: int, everything: bool) -> None:
        """Add one brief's dates (and what it held) to the history."""
        entry = {
            "at": at.isoformat(timespec="seconds"),
            "since": since.isoformat(timespec="seconds") if since else None,
            "answers": answers,
            "marked_only": not everything,
        }
        atomic_write_text(self.path, json.dumps({"briefs": self.entries() + [entry]}, indent=2) + "\n")


def chosen(sessions: list[Session], since: datetime | None, everything: bool) -> list[Heard]:
    """The answers for the brief, oldest first: those marked for the therapist (or all said) since `since`."""
    found = []
    for session in sorted(sessions, key=lambda s: (s.started_at.timestamp(), s.seq)):
        if since is not None and session.started_at < since:
            continue
        found += [Heard(session, a) for a in session.answers if a.audio is not None and (everything or a.for_therapist)]
    return found


def write_brief(
    sessions: list[Session],
    out: Path,
    since: datetime | None,
    everything: bool,
    now: datetime,
    data_dir: Path,
    force: bool = False,
) -> list[Heard]:
    """Write brief.html, brief.md and their recordings into `out` (made 0700 if new; kept as it is if not);
    nothing already there is replaced without `force`, and nothing else in `out` is touched. Returns the answers
    it holds."""
    out = Path(out).expanduser().resolve()
    data_dir = Path(data_dir).expanduser().resolve()
    if out == data_dir or data_dir in out.parents:
        raise ExportRefused(f"{out} is inside the notes folder {data_dir}; write the brief somewhere else")
    answers = chosen(sessions, since, everything)
    recordings = {id(heard): f"{heard.session.id}-" for heard in answers}
    if not force:
        refuse_replacing([out / HTML_PAGE, out / MD_PAGE, out / RECORDINGS])
    folder = private_dir(output_dir(out) / RECORDINGS)
    copied = {
        id(h): copy_audio(h.session, h.answer, folder, recordings[id(h)]) for h in answers if not h.session.sealed
    }
    start = since.date() if since else min((s.started_at.date() for s in sessions), default=now.date())
    period = Period(start, now.date())
    in_period = [s for s in sessions if since is None or s.started_at >= since]
    chart = pattern_svg(in_period, period)
    title = "For my therapist" if not everything else "My reflections"
    atomic_write_text(out / HTML_PAGE, _html(title, answers, copied, period, everything, chart, now.date()))
    atomic_write_text(out / MD_PAGE, _markdown(title, answers, copied, period, everything, now.date()))
    return answers


def _summary(answers: list[Heard], period: Period, everything: bool) -> str:
    count = f"{len(answers)} answer{'s' * (len(answers) != 1)}" + ("" if everything else " marked for my therapist")
    return f"{period.start:%-d %B %Y} to {period.end:%-d %B %Y} · {count}"


def _when(heard: Heard, today: date) -> str:
    day = date_in_words(heard.session.started_at, today, heard.session.clock_trusted)
    return f"{day} · {clock(heard.answer.duration_s)}"


def _html(
    title: str,
    answers: list[Heard],
    copied: dict[int, tuple[str | None, str | None]],
    period: Period,
    everything: bool,
    chart: str,
    today: date,
) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(_summary(answers, period, everything))}</p>',
        f"<figure>{chart}</figure>",
    ]
    if not answers:
        parts.append('<p class="note">No answers in this period.</p>')
    for n, heard in enumerate(answers, 1):
        parts.append(
            f'<article id="answer-{n}"><h2>{esc(heard.answer.question)}</h2>'
            f'<p class="when">{esc(_when(heard, today))}</p>'
        )
        name, problem = copied.get(id(heard), (None, None))
        if name:
            parts.append(f'<audio controls preload="metadata" src="{RECORDINGS}/{esc(name)}"></audio>')
        if heard.session.sealed:
            parts.append('<p class="note">This answer is sealed: write the brief with --identity to include it.</p>')
        elif problem:
            parts.append(f'<p class="note">{esc(problem)}</p>')
        said = heard.answer.transcript
        if not heard.session.sealed:
            parts.append(
                f'<p class="said">{esc(said)}</p>'
                if said
                else '<p class="note">(no words recognised; the recording is kept)</p>'
            )
        parts.append("</article>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(
    title: str,
    answers: list[Heard],
    copied: dict[int, tuple[str | None, str | None]],
    period: Period,
    everything: bool,
    today: date,
) -> str:
    lines = [f"# {md_escape(title)}", "", f"*{md_escape(_summary(answers, period, everything))}*", ""]
    if not answers:
        lines += ["*No answers in this period.*", ""]
    for heard in answers:
        lines += [f"## {md_escape(heard.answer.question)}", "", f"*{_when(heard, today)}*", ""]
        name, problem = copied.get(id(heard), (None, None))
        if name:
            lines += [f"[Recording](<{RECORDINGS}/{name}>)", ""]
        if heard.session.sealed:
            lines += ["*This answer is sealed: write the brief with \\-\\-identity to include it.*", ""]
            continue
        if problem:
            lines += [f"*{md_escape(problem)}*", ""]
        lines += [
            md_escape(heard.answer.transcript)
            if heard.answer.transcript
            else "*(no words recognised; the recording is kept)*",
            "",
        ]
    return "\n".join(lines)


def brief_command(
    data_dir: Path,
    out: Path,
    since: datetime | None,
    since_last: bool,
    everything: bool,
    identity: Path | None,
    force: bool,
    now: datetime,
) -> str:
    """Write the brief and note its dates; with `identity`, sealed notes are opened first (into a private
    temporary folder, removed afterwards). Returns what to tell the person."""
    with own(data_dir, "brief"):
        history = BriefHistory(DataLayout(Path(data_dir)).briefs)
        if since_last:
            since = history.last()
        if identity is None:
            answers = _brief_of(Archive(data_dir, sets_aside=False), out, since, everything, now, data_dir, force)
        else:
            with tempfile.TemporaryDirectory(prefix="reflect-opened-") as folder:
                open_archive(data_dir, identity, Path(folder) / "notes")
                answers = _brief_of(
                    Archive(Path(folder) / "notes", sets_aside=False), out, since, everything, now, data_dir, force
                )
        history.note(now, since, len(answers), everything)
    start = f"since {since:%-d %B %Y}" if since else "from the first session"
    return (
        f"Wrote a brief of {len(answers)} answer(s), {start}, to {Path(out).expanduser().resolve()}: "
        f"{HTML_PAGE} and {MD_PAGE}."
    )


def _brief_of(
    archive: Archive, out: Path, since: datetime | None, everything: bool, now: datetime, data_dir: Path, force: bool
) -> list[Heard]:
    return write_brief([archive.load(s.id) for s in archive.sessions()], out, since, everything, now, data_dir, force)


def _run(args: argparse.Namespace, config: "Config") -> int:
    """`reflect brief`: print what was written, return the exit code."""
    since = datetime.combine(parse_date(args.since), datetime.min.time()).astimezone() if args.since else None
    print(
        brief_command(
            config.data_dir,
            args.out,
            since,
            args.since_last_brief,
            args.all,
            args.identity,
            args.force,
            datetime.now().astimezone(),
        )
    )
    return 0


def register(
    subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]", parents: list[argparse.ArgumentParser]
) -> None:
    """Add `brief` to the `reflect` command line."""
    p = subparsers.add_parser(
        "brief",
        parents=parents,
        help="one calm page (HTML and Markdown) of the answers "
        "marked for your therapist, with their recordings and the pattern over time",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="DATE", help="answers from this date on (YYYY-MM-DD); default: all")
    when.add_argument("--since-last-brief", action="store_true", help="answers since the last brief was written")
    p.add_argument("--all", action="store_true", help="every answer, not only those marked for your therapist")
    p.add_argument(
        "--out", type=Path, required=True, help="folder to write into (created 0700 if needed; kept as it is if not)"
    )
    p.add_argument("--force", action="store_true", help="replace a brief already in --out")
    p.add_argument("--identity", type=Path, help="your identity file, to include sealed notes (reflect keys new)")
    p.set_defaults(func=_run, reads_notes=True)
