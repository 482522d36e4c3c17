"""Export sessions to carry away: Markdown, or a self-contained HTML page whose words seek the audio."""

import html
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from common.errors import ExportRefused
from common.files import FILE_MODE, atomic_write_text, output_dir, private_dir
from device.clock import in_words
from device.notes.archive import audio_path, audio_problem
from device.notes.durations import clock
from device.notes.pattern_chart import Period, pattern_svg
from device.notes.record import Answer, Session

FORMATS = ("md", "html")
PAGE_NAMES = {"md": "notes.md", "html": "index.html"}
MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
"""What Markdown reads as markup anywhere in a line: emphasis, code, links, raw HTML, tables, strikethrough."""
MD_LINE_START = re.compile(r"^([#>+=-]|\d+[.)])")
"""What it reads as markup only at a line's start: a heading, a quote, a list, a setext underline."""

STYLE = """
body { font: 17px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.meta { color: #666; }
section { border-top: 1px solid #ddd; padding: .5rem 0 1rem; }
h2 { font-size: .95rem; font-weight: normal; color: #666; margin: .75rem 0 .5rem; }
.said { font-size: 1.25rem; line-height: 1.6; margin: .75rem 0; }
nav a { color: #666; }
audio { width: 100%; }
.w { cursor: pointer; border-radius: 3px; }
.w:hover { background: #e8eefc; }
.w.now { background: #ffe9a8; }
.note { color: #a33; font-style: italic; }
"""

SCRIPT = """
document.addEventListener('click', function (event) {
  var word = event.target.closest('.w');
  if (!word) return;
  var audio = word.closest('section').querySelector('audio');
  if (!audio) return;
  audio.currentTime = parseFloat(word.dataset.t);
  var playing = audio.play();
  if (playing) playing.catch(function () {});
});
document.querySelectorAll('section.answer').forEach(function (section) {
  var audio = section.querySelector('audio');
  var words = Array.prototype.slice.call(section.querySelectorAll('.w'));
  if (!audio) return;
  audio.addEventListener('timeupdate', function () {
    var current = null;
    for (var i = 0; i < words.length && parseFloat(words[i].dataset.t) <= audio.currentTime; i++) current = words[i];
    words.forEach(function (w) { w.classList.toggle('now', w === current); });
  });
});
"""

CSP = "default-src 'none'; media-src 'self' file:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def md_escape(text: str) -> str:
    """Backslash-escape what Markdown could read as markup (and nothing else: dates stay 2026-12-06), on one line."""
    line = MD_INLINE.sub(r"\\\1", " ".join(text.split())).replace("\\](", "\\]\\(")  # no "](" left to read as a link
    return MD_LINE_START.sub(_escaped_line_start, line)


def _escaped_line_start(match: re.Match[str]) -> str:
    """`# `, `- `, ... as `\\# `, `\\- `; a number's `1.` as `1\\.`."""
    mark = match.group(1)
    return mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark


def _heading(session: Session) -> tuple[str, str]:
    """The page title and the one-line summary under it."""
    spoken = sum(a.duration_s for a in session.answers if a.audio)
    said = sum(1 for a in session.answers if a.status != "skipped")
    when = in_words(session.started_at, session.clock_trusted)
    return session.pack_title, f"{when} · {session.status.replace('_', ' ')} · {said} answers · {clock(spoken)} spoken"


def copy_audio(session: Session, answer: Answer, folder: Path, prefix: str = "") -> tuple[str | None, str | None]:
    """Copy the answer's audio into `folder` (0600) as `prefix` + its file name; return (that name, problem)."""
    source = audio_path(session, answer)
    if source is None:
        return None, None
    problem = audio_problem(session, answer)
    if not source.exists():
        return None, problem
    fd = os.open(folder / (prefix + source.name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return prefix + source.name, problem


def _markdown(session: Session, folder: Path) -> str:
    """The session as Markdown, linking the copied recordings."""
    title, meta = _heading(session)
    lines = [f"# {md_escape(title)}", "", f"*{md_escape(meta)}*", ""]
    for answer in session.answers:
        name, problem = copy_audio(session, answer, folder)
        lines += [f"## {answer.index}\\. {md_escape(answer.question)}", ""]
        if name:
            lines += [f"[Recording ({clock(answer.duration_s)})](<{name}>)", ""]
        if problem:
            lines += [f"*{md_escape(problem)}*", ""]
        lines += [md_escape(answer.transcript) if answer.transcript else f"*({answer.status})*", ""]
    return "\n".join(lines)


def _html(session: Session, folder: Path, contents: bool = False) -> str:
    """The session as one static page: an <audio> per answer, each word a seek target; the person's words large,
    the question small above them; with `contents`, a link back to the contents page beside the folder."""
    esc = html.escape
    title, meta = _heading(session)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(session.language or "en")}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{esc(title)} · {esc(session.id)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(meta)}</p>',
    ]
    if contents:
        parts.insert(-2, '<nav><a href="../index.html">← All notes</a></nav>')
    for answer in session.answers:
        name, problem = copy_audio(session, answer, folder)
        parts.append(
            f'<section class="answer" id="answer-{answer.index}"><h2>{answer.index}. {esc(answer.question)}</h2>'
        )
        if name:
            parts.append(
                f'<audio controls preload="metadata" src="{esc(name)}" data-duration="{answer.duration_s:.3f}"></audio>'
            )
        if problem:
            parts.append(f'<p class="note">{esc(problem)}</p>')
        if answer.words:
            words = " ".join(
                f'<span class="w" data-t="{w.start:.3f}" title="{clock(w.start)}">{esc(w.word)}</span>'
                for w in answer.words
            )
            parts.append(f'<p class="said words">{words}</p>')
        else:
            said = esc(answer.transcript) if answer.transcript else f"<em>({esc(answer.status)})</em>"
            parts.append(f'<p class="said">{said}</p>')
        parts.append("</section>")
    parts += [f"<script>{SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts)


def _contents_page(sessions: list[Session]) -> str:
    """An index.html opening with the pattern over the sessions' period, then linking each exported session page."""
    days = [s.started_at.date() for s in sessions]
    chart = pattern_svg(sessions, Period(min(days), max(days)))
    links = "".join(
        f'<li><a href="{html.escape(s.id)}/index.html">'
        f"{html.escape(_heading(s)[1])} · {html.escape(s.pack_title)}</a></li>"
        for s in sessions
    )
    lang = html.escape(sessions[0].language or "en")
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>Reflect notes</title><style>{STYLE}</style></head><body><h1>Reflect notes</h1><figure>{chart}</figure>"
        f"<ul>{links}</ul></body></html>"
    )


def _export_one(session: Session, out: Path, fmt: str, contents: bool) -> Path:
    """Build one session's folder beside its final place, then swap it in."""
    final = out / session.id
    building = private_dir(out / f".{session.id}.building")
    for leftover in building.iterdir():
        leftover.unlink()
    page = _markdown(session, building) if fmt == "md" else _html(session, building, contents)
    atomic_write_text(building / PAGE_NAMES[fmt], page)
    if final.exists():
        old = out / f".{session.id}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
        os.rename(building, final)
        shutil.rmtree(old)
    else:
        os.rename(building, final)
    return final / PAGE_NAMES[fmt]


def refuse_replacing(paths: Iterable[Path]) -> None:
    """ExportRefused naming the first of `paths` already there: nothing is replaced without --force."""
    there = next((path for path in paths if os.path.lexists(path)), None)
    if there is not None:
        raise ExportRefused(f"{there} already exists; choose another --out, or add --force to replace it")


def export(sessions: Session | Iterable[Session], out_dir: Path, fmt: str = "md", force: bool = False) -> list[Path]:
    """Write each session to `out_dir`/<id>/ (notes.md or index.html, recordings beside it); return the pages.

    A folder or contents page already there is replaced only with `force`; `out_dir` keeps its mode if it exists."""
    if fmt not in FORMATS:
        raise ExportRefused(f"unknown export format {fmt!r}; use md or html")
    chosen = [sessions] if isinstance(sessions, Session) else list(sessions)
    out = Path(out_dir).expanduser().resolve()
    for session in chosen:
        data_dir = session.path.parent.parent.resolve()
        if out == data_dir or data_dir in out.parents:
            raise ExportRefused(f"{out} is inside the notes folder {data_dir}; export somewhere else")
    contents = fmt == "html" and len(chosen) > 1
    if not force:
        refuse_replacing([out / s.id for s in chosen] + [out / "index.html"] * contents)
    output_dir(out)
    pages = [_export_one(session, out, fmt, contents) for session in chosen]
    if contents:
        atomic_write_text(out / "index.html", _contents_page(chosen))
    return pages
