"""`reflect brief`: the marked answers (or all) since a date, on real files, in Markdown and in an HTML page
opened in real headless Chromium; the pattern chart that opens it; the dates of the briefs kept."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bench.archive_factory import write_session
from common.errors import ExportRefused
from device.notes.archive import Archive
from device.notes.brief import HTML_PAGE, MD_PAGE, RECORDINGS, brief_command
from device.notes.export import md_escape
from device.notes.opening import identities, new_identity
from device.notes.sealing import seal_due
from tests.device.notes.dated_sessions import PACK, dated_session
from tests.device.notes.test_export import ARTIFACTS, chromium  # noqa: F401 - the real browser fixture
from tests.rig import ROOT

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 19, 30, tzinfo=timezone.utc)


def since(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=timezone.utc)


@pytest.fixture
def data(tmp_path):
    """Four sessions over four months; three answers marked for the therapist (one in January)."""
    data = tmp_path / "data"
    dated_session(data, at(1, 10), {1: "january one"}, tag=1000, marked=(1,))
    dated_session(data, at(3, 4), {1: "march one", 2: "march <b>two</b> & more"}, tag=2000, marked=(2,))
    dated_session(data, at(5, 20), {2: "may two", 3: "may three"}, tag=3000)
    dated_session(data, at(11, 2), {3: "november three"}, tag=4000, marked=(3,))
    return data


def brief(data, out, **kwargs):
    args = dict(since=None, since_last=False, everything=False, identity=None, force=False, now=NOW) | kwargs
    return brief_command(
        data, out, args["since"], args["since_last"], args["everything"], args["identity"], args["force"], args["now"]
    )


def test_the_marked_answers_since_a_date_with_question_date_words_and_recording(data, tmp_path):
    out = tmp_path / "usb"
    said = brief(data, out, since=since(2, 1))
    assert said.startswith("Wrote a brief of 2 answer(s), since 1 February 2026")
    md = (out / MD_PAGE).read_text()
    assert "january" not in md and "may two" not in md
    assert f"## {md_escape(PACK.questions[1])}\n\n*The fourth of March" in md
    assert "*The fourth of March · 0:00*" in md and "*The second of November · 0:00*" in md
    assert "march \\<b\\>two\\</b\\> & more" in md and "<b>" not in md
    assert md.index("The fourth of March") < md.index("The second of November")
    assert "[Recording](<recordings/2026-03-04_193000-02.wav>)" in md
    copied = sorted(p.name for p in (out / RECORDINGS).iterdir())
    assert copied == ["2026-03-04_193000-02.wav", "2026-11-02_193000-03.wav"]
    assert (out / RECORDINGS / copied[0]).read_bytes() == (
        data / "sessions" / "2026-03-04_193000" / "02.wav"
    ).read_bytes()
    assert {oct(p.stat().st_mode & 0o777) for p in [out, out / RECORDINGS]} == {"0o700"}
    assert {oct(p.stat().st_mode & 0o777) for p in [out / HTML_PAGE, out / MD_PAGE, *(out / RECORDINGS).iterdir()]} == {
        "0o600"
    }
    history = json.loads((data / "briefs.json").read_text())["briefs"]
    assert history == [
        {"at": "2026-12-06T18:00:00+00:00", "since": "2026-02-01T00:00:00+00:00", "answers": 2, "marked_only": True}
    ]


def test_since_the_last_brief_and_all(data, tmp_path):
    assert "of 3 answer(s), from the first session" in brief(data, tmp_path / "first", now=since(6, 1))
    said = brief(data, tmp_path / "second", since_last=True)
    assert said.startswith("Wrote a brief of 1 answer(s), since 1 June 2026")
    assert "november three" in (tmp_path / "second" / MD_PAGE).read_text()
    everything = brief(data, tmp_path / "all", everything=True, since=since(3, 1))
    assert "of 5 answer(s)" in everything
    assert (tmp_path / "all" / MD_PAGE).read_text().startswith("# My reflections")
    assert [b["at"] for b in json.loads((data / "briefs.json").read_text())["briefs"]] == [
        "2026-06-01T00:00:00+00:00",
        "2026-12-06T18:00:00+00:00",
        "2026-12-06T18:00:00+00:00",
    ]


def test_what_is_already_there_is_refused_without_force_and_never_otherwise_touched(data, tmp_path):
    out = tmp_path / "shared"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    (out / "theirs.txt").write_text("not ours")
    brief(data, out)
    with pytest.raises(ExportRefused, match=f"{out / HTML_PAGE} already exists; .*--force"):
        brief(data, out)
    (out / MD_PAGE).write_text("edited")
    brief(data, out, force=True)
    assert (out / MD_PAGE).read_text().startswith("# For my therapist")
    assert (out / "theirs.txt").read_text() == "not ours" and out.stat().st_mode & 0o777 == 0o755
    with pytest.raises(ExportRefused, match="inside the notes folder"):
        brief(data, data / "sessions")


def test_older_records_are_read_with_nothing_marked(tmp_path):
    data = tmp_path / "data"
    write_session(data, at(2, 2), [["an", "old", "answer"]], rate=8000)  # a version 1 record
    assert Archive(data).load("latest").answers[0].for_therapist is False
    assert "of 0 answer(s)" in brief(data, tmp_path / "marked")
    assert "of 1 answer(s)" in brief(data, tmp_path / "all", everything=True)


def test_sealed_notes_need_the_identity(data, tmp_path):
    new_identity(tmp_path / "key")
    seal_due(data, identities(tmp_path / "key")[0].to_public(), 0)
    brief(data, tmp_path / "sealed")
    md = (tmp_path / "sealed" / MD_PAGE).read_text()
    assert "sealed: write the brief with \\-\\-identity" in md and "march" not in md
    brief(data, tmp_path / "opened", identity=tmp_path / "key")
    md = (tmp_path / "opened" / MD_PAGE).read_text()
    assert "january one" in md and "november three" in md and "sealed" not in md
    assert len(list((tmp_path / "opened" / RECORDINGS).iterdir())) == 3


def test_the_brief_opens_in_chromium_with_its_audio_and_chart(data, tmp_path, chromium):  # noqa: F811
    out = tmp_path / "usb"
    brief(data, out, since=since(2, 1))
    chromium.get((out / HTML_PAGE).as_uri())
    loaded = "return [...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)"
    WebDriverWait(chromium, 20).until(lambda d: d.execute_script(loaded))
    audios = chromium.execute_script(
        "return [...document.querySelectorAll('audio')]"
        ".map(a => [a.getAttribute('src'), a.duration, a.error && a.error.code])"
    )
    assert [src for src, _, _ in audios] == [
        "recordings/2026-03-04_193000-02.wav",
        "recordings/2026-11-02_193000-03.wav",
    ]
    assert all(error is None and duration == pytest.approx(0.1, abs=0.02) for _, duration, error in audios)
    assert chromium.execute_script("return document.scripts.length") == 0
    chart = chromium.find_element(By.CSS_SELECTOR, "figure svg")
    assert chart.size["width"] > 400 and chart.size["height"] > 200
    assert chromium.find_element(By.CSS_SELECTOR, "#answer-1 .said").text == "march <b>two</b> & more"
    resources = chromium.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert all(name.startswith("file://") for name in resources)
    ARTIFACTS.mkdir(exist_ok=True)
    assert chromium.save_screenshot(str(ARTIFACTS / "brief-html.png"))


@pytest.mark.parametrize(
    "args, says",
    [
        (["--since", "March"], "not a date"),
        (["--since", "2026-01-01", "--since-last-brief"], None),
    ],
)
def test_bad_input_to_brief_is_one_line_and_exit_2(data, tmp_path, args, says):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "device.setup.cli",
            "brief",
            *args,
            "--out",
            str(tmp_path / "o"),
            "--data-dir",
            str(data),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and not (tmp_path / "o").exists() and not (data / "briefs.json").exists()
    if says:
        assert len(done.stderr.splitlines()) == 1 and says in done.stderr, done.stderr
