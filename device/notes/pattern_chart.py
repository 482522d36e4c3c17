"""The pattern of reflections as one inline SVG: days reflected per week, minutes spoken per question, and the
answers marked for the therapist. No script and no network; plain shapes and text that print in grey."""

import html
from dataclasses import dataclass
from datetime import date, timedelta

from device.notes.durations import clock
from device.notes.record import Session

WIDTH = 680
LEFT = 44
"""Room for the y-axis labels of the weekly chart."""
WEEK_HEIGHT = 110
"""Height of the weekly bars at seven days."""
BAR_ROW = 22
LABEL_CHARS = 58
"""A question longer than this is cut short, with an ellipsis, beside its bar."""
INK, BAR, MARK, RULE = "#222", "#6b7f99", "#b5542e", "#ccc"


@dataclass(frozen=True)
class Period:
    """The first and last day the chart covers."""

    start: date
    end: date

    def weeks(self) -> list[date]:
        """The Monday of every week the period touches."""
        monday = self.start - timedelta(days=self.start.weekday())
        return [monday + timedelta(weeks=n) for n in range((self.end - monday).days // 7 + 1)]


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _text(x: float, y: float, words: str, anchor: str = "start", size: int = 12, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
        f'fill="{INK}">{html.escape(words)}</text>'
    )


def pattern_svg(sessions: list[Session], period: Period) -> str:
    """The chart for `sessions` over `period`: an <svg> element to put inline in a page."""
    weeks = period.weeks()
    days: dict[date, set[date]] = {}
    marks: dict[date, int] = {}
    spoken: dict[str, float] = {}
    for session in sessions:
        day = session.started_at.date()
        if not period.start <= day <= period.end:
            continue
        days.setdefault(_week(day), set()).add(day)
        for answer in session.answers:
            if answer.audio is not None:
                spoken[answer.question] = spoken.get(answer.question, 0.0) + answer.duration_s
            if answer.for_therapist:
                marks[_week(day)] = marks.get(_week(day), 0) + 1
    parts = []
    y = 20
    parts.append(_text(0, y, "Days you reflected, each week", weight="bold", size=14))
    y += 22
    step = (WIDTH - LEFT - 10) / max(len(weeks), 1)
    top, bottom = y, y + WEEK_HEIGHT
    for level in (0, 7):
        ly = bottom - WEEK_HEIGHT * level / 7
        parts.append(f'<line x1="{LEFT}" y1="{ly:.1f}" x2="{WIDTH - 10}" y2="{ly:.1f}" stroke="{RULE}"/>')
        parts.append(_text(LEFT - 6, ly + 4, f"{level}", "end", 11))
    for n, monday in enumerate(weeks):
        count = len(days.get(monday, ()))
        x = LEFT + n * step
        height = WEEK_HEIGHT * count / 7
        if count:
            parts.append(
                f'<rect x="{x + step * 0.15:.1f}" y="{bottom - height:.1f}" width="{step * 0.7:.1f}" '
                f'height="{height:.1f}" fill="{BAR}"><title>week of {monday:%d %b %Y}: {count} '
                f"day{'s' * (count != 1)}</title></rect>"
            )
        if marks.get(monday):
            cx, cy = x + step / 2, top - 9
            parts.append(
                f'<path d="M{cx:.1f} {cy - 5:.1f} l5 5 l-5 5 l-5 -5 z" fill="{MARK}"><title>'
                f"{marks[monday]} marked for your therapist in the week of {monday:%d %b}</title></path>"
            )
    for n in sorted({0, len(weeks) // 2, len(weeks) - 1}):  # the ends aligned inside the chart, never cut off
        anchor = "start" if n == 0 else "end" if n == len(weeks) - 1 else "middle"
        x = {"start": LEFT + n * step, "end": LEFT + (n + 1) * step, "middle": LEFT + (n + 0.5) * step}[anchor]
        parts.append(_text(x, bottom + 15, f"{weeks[n]:%d %b}", anchor, 11))
    y = bottom + 22
    if marks:
        parts.append(f'<path d="M{LEFT:.1f} {y - 4:.1f} l5 5 l-5 5 l-5 -5 z" fill="{MARK}"/>')
        total = sum(marks.values())
        parts.append(_text(LEFT + 10, y + 5, f"{total} answer{'s' * (total != 1)} marked for your therapist", size=11))
        y += 16
    y += 24
    parts.append(_text(0, y, "Time spoken, per question (minutes:seconds)", weight="bold", size=14))
    y += 10
    most = max(spoken.values(), default=0.0) or 1.0
    bar_left = WIDTH * 0.55
    for question, seconds in sorted(spoken.items(), key=lambda item: -item[1]):
        label = question if len(question) <= LABEL_CHARS else question[: LABEL_CHARS - 1] + "…"
        width = (WIDTH - bar_left - 50) * seconds / most
        parts.append(_text(bar_left - 8, y + 15, label, "end", 11))
        parts.append(
            f'<rect x="{bar_left:.1f}" y="{y + 4:.1f}" width="{max(width, 1):.1f}" height="{BAR_ROW - 8}" '
            f'fill="{BAR}"><title>{html.escape(question)}</title></rect>'
        )
        parts.append(_text(bar_left + width + 6, y + 15, clock(seconds), size=11))
        y += BAR_ROW
    if not spoken:
        parts.append(_text(0, y + 15, "No recorded answers in this period.", size=11))
        y += BAR_ROW
    height = y + 10
    summary = (
        f"{sum(len(d) for d in days.values())} days reflected from {period.start:%d %B %Y} to "
        f"{period.end:%d %B %Y}; {sum(marks.values())} answers marked for your therapist"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pattern" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" style="max-width:{WIDTH}px" font-family="system-ui, sans-serif">'
        f"<title>Your reflections over time</title><desc>{html.escape(summary)}</desc>" + "".join(parts) + "</svg>"
    )
