"""The review subcommands through argparse on generated archives, including damaged and empty ones."""

import json
from datetime import datetime, timezone

import pytest

from bench.archive_factory import damage, make_archive, write_session
from common.errors import SessionAmbiguous, SessionNotFound
from device.config import load_config
from device.notes import review_commands
from device.notes.archive import Archive
from device.setup.cli import build_parser


def _cli(data_dir, *argv):
    """Run a review subcommand through the real `reflect` parser, letting ReflectErrors through."""
    args = build_parser().parse_args([*argv, "--data-dir", str(data_dir)])
    return args.func(args, load_config(env={}, overrides={"storage": {"data_dir": str(data_dir)}}))


@pytest.fixture
def data(tmp_path):
    folders = make_archive(tmp_path / "data", 5, seed=2)
    damage(folders[0], "bad_json")
    damage(folders[1], "missing_audio")
    return tmp_path / "data"


def test_notes_lists_sessions_and_reports_damage_without_failing(data, capsys):
    assert _cli(data, "notes") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SESSION", "DATE", "ANSWERS", "SPOKEN", "STATUS", "PACK"]
    assert [line.split()[0] for line in out[1:5]] == [s.id for s in Archive(data, sets_aside=False).sessions()]
    assert any("is damaged" in line and "`reflect recover` sets it aside" in line for line in out)
    assert not (data / "damaged").exists()  # a review reports the damage; only recovery moves the folder
    assert any(": answer" in line and "is missing" in line for line in out)


def test_notes_json_is_parseable_and_complete(data, capsys):
    assert _cli(data, "notes", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["sessions"]) == 4 and {
        "id",
        "started_at",
        "pack",
        "answers",
        "spoken_s",
        "status",
        "problems",
    } <= set(doc["sessions"][0])
    assert any("damaged" in n for n in doc["notices"])


def test_empty_archive_says_so(tmp_path):
    archive = Archive(tmp_path)
    assert review_commands.notes(archive, False) == "No saved sessions yet."
    assert json.loads(review_commands.notes(archive, True)) == {"sessions": [], "notices": []}
    assert review_commands.search(archive, ["anything"]) == "No answers contain 'anything'."
    assert review_commands.export_cmd(archive, None, "html", tmp_path / "out") == "No saved sessions to export."
    with pytest.raises(SessionNotFound):
        review_commands.show(archive, "latest")


def test_show_by_latest_and_prefix(tmp_path):
    write_session(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc), [["first", "words"], None])
    write_session(tmp_path, datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc), [["second", "one"]])
    archive = Archive(tmp_path)
    latest = review_commands.show(archive, "latest")
    assert "(2026-12-01_090000)" in latest and "second one" in latest
    older = review_commands.show(archive, "2026-11")
    assert "first words" in older and "   (skipped)" in older
    with pytest.raises(SessionAmbiguous):
        review_commands.show(archive, "2026")


def test_search_prints_session_question_and_time(tmp_path):
    write_session(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc), [["a", "b", "c", "d", "okapi"]])
    out = review_commands.search(Archive(tmp_path), ["okapi"])
    assert out.splitlines() == [
        "2026-11-30_090000  answer 1 at 0:02.3  How is your relationship with your therapist right now?",
        "    a b c d «okapi»",
    ]


def test_search_caps_long_result_lists(tmp_path):
    make_archive(tmp_path, 40, seed=4, max_words=60)
    out = review_commands.search(Archive(tmp_path), ["the"], limit=5)
    assert out.count(" answer ") == 5 and out.endswith("add words to narrow the search.")


def test_reindex_and_export_commands(data, tmp_path, capsys):
    assert _cli(data, "reindex") == 0
    assert capsys.readouterr().out.startswith("Indexed ")
    out = tmp_path / "usb"
    assert _cli(data, "export", "--all", "--format", "html", "--out", str(out)) == 0
    ids = [s.id for s in Archive(data).sessions()]
    assert sorted(p.name for p in out.iterdir()) == sorted(ids + ["index.html"])
    assert _cli(data, "export", "latest", "--out", str(tmp_path / "md")) == 0
    assert (tmp_path / "md" / ids[0] / "notes.md").exists()


def test_export_needs_a_session_or_all(data):
    with pytest.raises(SystemExit):
        _cli(data, "export", "--out", "/tmp/x")
    with pytest.raises(SystemExit):
        _cli(data, "export", "latest", "--all", "--out", "/tmp/x")


def test_delete_asks_and_only_yes_deletes(data, capsys):
    archive = Archive(data)
    victim = archive.resolve("latest")
    prompts = []
    assert review_commands.delete(archive, "latest", lambda p: prompts.append(p) or False) == "Nothing deleted."
    assert victim in prompts[0] and (data / "sessions" / victim).exists()
    assert review_commands.delete(archive, "latest", lambda p: True) == f"Deleted session {victim}."
    assert not (data / "sessions" / victim).exists()
    nxt = archive.resolve("latest")
    assert _cli(data, "delete", nxt, "--yes") == 0
    assert nxt not in [s.id for s in archive.sessions()]


def test_delete_without_a_terminal_deletes_nothing(data, monkeypatch):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    before = Archive(data).resolve("latest")
    assert _cli(data, "delete", "latest") == 1
    assert (data / "sessions" / before).exists()
