"""The pattern chart: days reflected per week, time spoken per question, the marked answers; plain inline SVG."""

from datetime import datetime, timezone

from device.notes.archive import Archive
from device.notes.pattern_chart import MARK, Period, pattern_svg
from tests.device.notes.dated_sessions import dated_session


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 19, 30, tzinfo=timezone.utc)


def test_the_chart_counts_days_per_week_spoken_time_per_question_and_marks(tmp_path):
    data = tmp_path / "data"
    dated_session(data, at(3, 2), {1: "a"}, tag=1000, marked=(1,))  # Monday
    dated_session(data, at(3, 2), {1: "again the same day"}, tag=1100)
    dated_session(data, at(3, 4), {1: "b", 2: "c"}, tag=1200)  # Wednesday, same week
    archive = Archive(data)
    svg = pattern_svg([archive.load(s.id) for s in archive.sessions()], Period(at(3, 1).date(), at(3, 15).date()))
    assert "week of 02 Mar 2026: 2 days" in svg and "week of 23 Feb 2026" not in svg  # 2 sessions on 2 Mar: 1 day
    assert svg.count(f'fill="{MARK}"><title>1 marked') == 1 and "1 answer marked for your therapist" in svg
    assert "0:00" in svg and "<script" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
