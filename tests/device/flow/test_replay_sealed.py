"""A hold asking to replay a sealed session is answered in one sentence, and nothing of it is played."""

from datetime import datetime, timedelta, timezone

from bench.archive_factory import write_session
from content.phrases import PHRASES
from device.flow.replay import Replay
from device.notes.archive import Archive
from device.notes.opening import identities, new_identity
from device.notes.sealing import seal_due


class SayingPlayer:
    """Notes what the replay says and plays, in order."""

    def __init__(self):
        self.heard = []

    def say(self, text):
        self.heard.append(text)

    def play(self, clip):
        self.heard.append("a recording")


def test_replaying_a_sealed_session_says_it_is_sealed_and_plays_nothing(tmp_path):
    data = tmp_path / "data"
    write_session(data, datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc), [["hello", "there"], ["again"]], rate=8000)
    player = SayingPlayer()
    Replay(Archive(data), player).latest()
    assert player.heard[0] == PHRASES.replay_start and "a recording" in player.heard

    new_identity(tmp_path / "key")
    seal_due(data, identities(tmp_path / "key")[0].to_public(), 0, now=datetime.now(timezone.utc) + timedelta(days=1))
    player = SayingPlayer()
    Replay(Archive(data), player).latest()
    assert player.heard == ["Your earlier notes are sealed; open them on your computer."]
    assert PHRASES.notes_sealed in PHRASES.all()  # rendered ahead of time with every other phrase
