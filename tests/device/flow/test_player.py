"""The player's gestures while sounds are queued: a press skips to the next sound, a hold silences them all."""

import threading
import time

import numpy as np

from audio.clips import Clip
from audio.speaker import SilentSpeaker
from device.flow.gestures import Gesture, GestureEvent
from device.flow.inbox import Inbox, PlaybackDone
from device.flow.player import Player, Playing

RATE = 1000


def clip(seconds: float) -> Clip:
    return Clip(np.zeros(int(RATE * seconds), dtype=np.float32), RATE)


def queued_pair(first_s: float, second_s: float) -> tuple[Inbox, Player, Playing, Playing]:
    """A player on the silent speaker with one sound playing and another queued behind it."""
    inbox = Inbox()
    player = Player(SilentSpeaker(RATE), prompts=None, inbox=inbox)
    return inbox, player, player.start(clip(first_s)), player.start_next(clip(second_s))


def ends_within_a_second(player: Player, playing: Playing) -> bool:
    started = time.monotonic()
    assert player.wait(playing) is None
    return time.monotonic() - started < 1


def press_after(inbox: Inbox, seconds: float, gesture: Gesture = Gesture.PRESS) -> None:
    threading.Timer(seconds, inbox.put, args=(GestureEvent(gesture, 0.0),)).start()


def test_a_press_skips_the_playing_sound_and_the_queued_one_plays_out():
    inbox, player, first, second = queued_pair(5.0, 0.1)
    press_after(inbox, 0.05)
    assert player.wait(first) is Gesture.PRESS
    assert ends_within_a_second(player, second), "the queued sound did not play after the press"


def test_a_press_racing_the_end_of_a_sound_never_leaves_the_next_wait_hanging():
    inbox, player, first, second = queued_pair(0.05, 5.0)
    first_ended = threading.Event()
    put = inbox.put
    inbox.put = lambda item: (put(item), isinstance(item, PlaybackDone) and first_ended.set())
    inbox.put(GestureEvent(Gesture.PRESS, 0.0))  # pressed as the first sound ends: the speaker has moved on
    assert first_ended.wait(2)  # to the second by the time the flow reads the press
    assert player.wait(first) is Gesture.PRESS
    assert ends_within_a_second(player, second), "waited for a sound the press had already ended"


def test_a_hold_silences_the_playing_sound_and_drops_the_queued_one():
    inbox = Inbox()
    ended = []
    speaker = SilentSpeaker(RATE)
    player = Player(speaker, prompts=None, inbox=inbox)
    first = player.start(clip(5.0))
    speaker.play_next(clip(0.05), lambda: ended.append("queued"))
    press_after(inbox, 0.05, Gesture.HOLD)
    assert player.wait(first) is Gesture.HOLD
    later = threading.Event()
    speaker.play(clip(0.3), later.set)  # ends well after the dropped clip would have
    assert later.wait(2)
    assert ended == []


class HeldSpeaker:
    """A speaker whose clips end only when the test says so (`ends[i]()`)."""

    rate = RATE

    def __init__(self):
        self.ends = []

    def play(self, clip, on_done):
        self.ends.append(on_done)

    play_next = play

    def skip(self):
        """The test ends clips itself."""

    stop = skip


def test_the_late_end_of_an_earlier_players_clip_does_not_end_a_newer_clip():
    """A replay's clip ending after a session's player started its own (one inbox, one speaker)."""
    inbox = Inbox()
    speaker = HeldSpeaker()
    Player(speaker, prompts=None, inbox=inbox).start(clip(5.0))  # e.g. a replay, stopped by a hold
    newer = Player(speaker, prompts=None, inbox=inbox)
    playing = newer.start(clip(5.0))
    speaker.ends[0]()  # the old clip's end arrives late
    inbox.put(GestureEvent(Gesture.PRESS, 0.0))
    assert newer.wait(playing) is Gesture.PRESS, "the newer clip was taken as ended"
