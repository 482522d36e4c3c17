"""Event kinds are stable ids; the journal and the status line keep their words."""

from device.flow.events import TEXT, Event, EventKind, Phase


def test_every_kind_has_its_words():
    assert set(TEXT) == set(EventKind) and all(kind.text for kind in EventKind)


def test_the_status_line_says_what_it_always_said():
    assert (Event(EventKind.WAITING).phase, Event(EventKind.WAITING).detail) == (Phase.READY, "waiting for a press")
    assert Event(EventKind.SHUTTING_DOWN).detail == "safe to unplug once the light is out"
    assert Event(EventKind.MICROPHONE_LOST).detail == "microphone lost"
    assert Event(EventKind.SESSION_SAVED, session="2026-03-01_100000").detail == "session 2026-03-01_100000 saved"
    assert Event(EventKind.QUESTION, 2).detail == "question 2"


def test_the_ids_are_one_word_each():
    assert all(kind.value.isidentifier() and kind.value.islower() for kind in EventKind)
