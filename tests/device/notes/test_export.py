"""Exports: Markdown and HTML on real files; the HTML page driven in real headless Chromium."""

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from audio.compress import compress_answer
from bench.archive_factory import word_times, write_session
from common.errors import ExportRefused
from device.notes import record
from device.notes.archive import Archive
from device.notes.export import export, md_escape
from device.notes.session_notes import SessionNotes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NASTY = '<script>alert("x")</script> & *bold* [link](http://example.com) `code` #tag'
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1000,1400",
)


@pytest.fixture
def session(tmp_path):
    data = tmp_path / "data"
    folder = write_session(
        data,
        datetime(2026, 11, 30, 9, 44, 38, tzinfo=timezone.utc),
        [["i", "feel", "safer", "there"], None, ["we", "talked", "about", "<b>trust</b>", "&", "grief"]],
    )
    doc = json.loads((folder / "session.json").read_text())
    doc["pack"]["title"] = NASTY
    doc["answers"][0]["question"] = NASTY
    (folder / "session.json").write_text(json.dumps(doc))
    SessionNotes(folder, record.read(folder)).set_audio(
        1, compress_answer(folder / "01.wav").name
    )  # as the session does
    return Archive(data).load("latest")


def test_markdown_export_escapes_text_and_links_copied_audio(session, tmp_path):
    out = tmp_path / "usb"
    [page] = export(session, out, "md")
    assert page == out / session.id / "notes.md"
    text = page.read_text()
    assert md_escape(NASTY) in text and "<script>" not in text and "](http" not in text
    assert "[Recording (0:02)](<01.opus>)" in text and "[Recording (0:04)](<03.wav>)" in text
    assert "*(skipped)*" in text
    assert (out / session.id / "01.opus").read_bytes() == (session.path / "01.opus").read_bytes()
    for path in [out, out / session.id]:
        assert path.stat().st_mode & 0o777 == 0o700
    for path in (out / session.id).iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_markdown_reads_cleanly_with_the_date_in_words(tmp_path):
    data = tmp_path / "data"
    write_session(data, datetime(2026, 12, 6, 14, 3, tzinfo=timezone.utc), [["on", "2026-12-06", "it", "felt", "safe"]])
    [page] = export(Archive(data).load("latest"), tmp_path / "usb", "md")
    text = page.read_text()
    assert "Sunday 06 December 2026, 14:03" in text  # as transcript.md says it
    assert "on 2026-12-06 it felt safe" in text and "\\-" not in text


def test_markdown_escapes_only_what_would_be_markup():
    assert (
        md_escape("- a list? # a heading? 1. a number? 2026-12-06 (fine)")
        == "\\- a list? # a heading? 1. a number? 2026-12-06 (fine)"
    )
    assert md_escape("12. one") == "12\\. one" and md_escape("# tag") == "\\# tag"
    assert md_escape("[x](http://e) *b* `c` <i>") == "\\[x\\]\\(http://e) \\*b\\* \\`c\\` \\<i\\>"


def test_html_pages_link_back_to_their_contents_in_the_pack_language(tmp_path):
    data = tmp_path / "data"
    for day in (3, 4):
        write_session(data, datetime(2026, 12, day, 9, 0, tzinfo=timezone.utc), [["ich", "bin", "hier"]])
    for folder in (data / "sessions").iterdir():
        doc = json.loads((folder / "session.json").read_text())
        doc["pack"]["language"] = "de"
        (folder / "session.json").write_text(json.dumps(doc))
    archive = Archive(data)
    out = tmp_path / "usb"
    pages = export([archive.load(s.id) for s in archive.sessions()], out, "html")
    contents = (out / "index.html").read_text()
    assert contents.startswith('<!DOCTYPE html><html lang="de">')
    for page in pages:
        text = page.read_text()
        assert '<a href="../index.html">' in text and '<html lang="de">' in text
        assert (page.parent / "../index.html").resolve() == out / "index.html"
        assert '<p class="said words">' in text  # the person's words, set larger than the question above them
    [single] = export(archive.load("latest"), tmp_path / "one", "html")
    assert "../index.html" not in single.read_text()  # no contents page beside a single session


def test_reexport_replaces_the_old_copy_only_with_force(session, tmp_path):
    out = tmp_path / "usb"
    export(session, out, "html")
    (out / session.id / "stale.txt").write_text("old")
    for fmt in ("html", "md"):
        with pytest.raises(ExportRefused, match=f"{out / session.id} already exists; .*--force"):
            export(session, out, fmt)
    assert sorted(p.name for p in (out / session.id).iterdir()) == ["01.opus", "03.wav", "index.html", "stale.txt"]
    export(session, out, "html", force=True)
    assert sorted(p.name for p in (out / session.id).iterdir()) == ["01.opus", "03.wav", "index.html"]


def test_export_refuses_the_notes_folder_and_unknown_formats(session):
    data_dir = session.path.parent.parent
    for place in (data_dir, data_dir / "sessions", session.path):
        with pytest.raises(ExportRefused, match="inside the notes folder"):
            export(session, place, "html")
    with pytest.raises(ExportRefused, match="unknown export format 'pdf'"):
        export(session, data_dir.parent / "out", "pdf")
    assert sorted(p.name for p in session.path.iterdir()) == ["01.opus", "03.wav", "session.json", "transcript.md"]


@pytest.fixture
def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def test_html_page_in_chromium_loads_every_audio_and_words_seek(session, tmp_path, chromium):
    out = tmp_path / "usb"
    [page] = export([session], out, "html")
    chromium.get(page.as_uri())
    loaded = "return [...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)"
    WebDriverWait(chromium, 20).until(lambda d: d.execute_script(loaded))
    audios = chromium.execute_script(
        "return [...document.querySelectorAll('audio')]"
        ".map(a => [a.getAttribute('src'), a.duration, a.error && a.error.code])"
    )
    expected = {a.audio: a.duration_s for a in session.answers if a.audio}
    assert [src for src, _, _ in audios] == list(expected)
    for src, duration, error in audios:
        assert error is None and duration == pytest.approx(expected[src], abs=0.05), src

    assert chromium.execute_script("return document.scripts.length") == 1
    assert chromium.find_element(By.CSS_SELECTOR, "#answer-1 h2").text == f"1. {NASTY}"
    assert chromium.title.startswith(NASTY)

    word = chromium.find_elements(By.CSS_SELECTOR, "#answer-3 .w")[3]
    assert word.text == "<b>trust</b>"
    word.click()
    seeked = chromium.execute_script(
        "const a = document.querySelector('#answer-3 audio'); a.pause(); return a.currentTime"
    )
    start = word_times(6)[3][0]
    assert start <= seeked < start + 0.5
    first_word = chromium.find_elements(By.CSS_SELECTOR, "#answer-1 .w")[2]
    first_word.click()
    seeked = chromium.execute_script(
        "const a = document.querySelector('#answer-1 audio'); a.pause(); return a.currentTime"
    )
    assert word_times(4)[2][0] <= seeked < word_times(4)[2][0] + 0.5
    resources = chromium.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert all(name.startswith("file://") for name in resources)
    ARTIFACTS.mkdir(exist_ok=True)
    assert chromium.save_screenshot(str(ARTIFACTS / "export-html.png"))
