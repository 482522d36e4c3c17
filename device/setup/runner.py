"""Running the real device: the service forever, one session now, or replay from the command line."""

import logging
import threading
import time
from datetime import date

from audio import room_check
from audio.synthesis import PromptCache
from common.errors import GpioUnavailable, SealedUnreadable
from content.phrases import PHRASES
from device.config import Config
from device.flow.button import KEYBOARD_HELP, ButtonGestures, KeyboardGestures
from device.flow.control import ControlServer, runtime_dir
from device.flow.events import Event
from device.flow.gestures import Gesture, GestureEvent
from device.flow.inbox import Inbox
from device.flow.owner_jobs import OwnerJobs
from device.flow.player import Player
from device.flow.replay import Replay
from device.flow.service import Device, ServiceLoop
from device.flow.shutdown import ShutDown, power_off_through_logind
from device.flow.watchdog import Watchdog, notify_ready, notify_status, notify_stopping
from device.notes.across_time import chosen_question
from device.notes.archive import Archive
from device.notes.owner import own
from device.setup.wiring import build_device, load_pack, microphone_opener, open_speaker

log = logging.getLogger(__name__)

SERVICE_WAIT_S = 60.0
"""How long the service waits at start for a command (recover, delete, reindex) to give the notes back."""


def _listeners(config: Config):
    """Logs every event (never what was said) and drives the status LED when one is configured."""
    led = None
    if config.button.led_pin:
        from device.flow.status_led import StatusLed

        led = StatusLed(config.button.led_pin)

    def on_event(event: Event) -> None:
        log.info("%s: %s", event.phase.value, event.detail)
        if led is not None:
            led.on_event(event)
        notify_status(f"{event.phase.value}: {event.detail}")

    return on_event, led


def _gestures(config: Config, device: Device, keyboard: bool, on_eof):
    if keyboard:
        print(KEYBOARD_HELP, flush=True)
        return KeyboardGestures(device.parts.inbox.put, on_eof)
    try:
        return ButtonGestures(
            config.button.pin,
            config.button.hold_s,
            device.parts.inbox.put,
            long_hold_s=config.button.off_hold_s,
            double_press_s=config.button.double_press_s,
        )
    except Exception as error:
        raise GpioUnavailable(
            f"Cannot use the button on GPIO {config.button.pin} ({error}). On a laptop, use --keyboard."
        ) from None


def run_forever(config: Config, keyboard: bool = False, power_off=power_off_through_logind) -> int:
    """`reflect run`: the service. Ready for a press within a second; the model loads meanwhile.
    It owns the notes for its whole life (waiting up to a minute for a command that has them).
    A long hold in the ready state ends it with `power_off` (safe to unplug)."""
    with own(config.data_dir, "service", wait_s=SERVICE_WAIT_S):
        return _serve(config, keyboard, power_off)


def _serve(config: Config, keyboard: bool, power_off) -> int:
    device = build_device(config)
    on_event, led = _listeners(config)
    watchdog = Watchdog()
    parts = device.parts
    parts.on_event, parts.inbox.heartbeat = on_event, watchdog.alive
    player = Player(parts.speaker, parts.prompts, parts.inbox, hears_long_hold=True)  # what the idle hold starts
    replay = Replay(Archive(config.data_dir), player, on_event)
    jobs = OwnerJobs(config.data_dir, device.model, config.storage.audio_format)
    loop = ServiceLoop(
        device,
        config.data_dir,
        replay=replay.latest,
        shut_down=ShutDown(player, on_event, power_off),
        jobs=jobs,
        across_time=replay.question,
        double_press_s=config.button.double_press_s,
    )
    button = _gestures(config, device, keyboard, loop.stopping.set)
    control = _control(config, parts.inbox.put, jobs.ask)
    room_stop = threading.Event()
    room = threading.Thread(target=_log_room, args=(config, room_stop), name="room-check", daemon=True)
    room.start()
    notify_ready()
    try:
        loop.run()
    finally:
        notify_stopping()
        room_stop.set()
        room.join()  # its microphone stream must be closed before the process exits
        if control is not None:
            control.close()
        button.close()
        watchdog.close()
        if led is not None:
            led.close()
        device.close()
    return 0


def _log_room(config: Config, stop: threading.Event) -> None:
    """Log the room's noise floor once, at start (over before a session's first answer opens the microphone:
    the chime, greeting and first question alone take longer)."""
    try:
        microphone = microphone_opener(config)()
        measured = room_check.measure(microphone, stop)
    except Exception as error:
        log.warning("could not measure the room's noise: %s", error)
        return
    if measured is None:
        return  # the service stopped first
    level, detail = measured
    (log.warning if level == "WARN" else log.info)("%s", detail)


def _control(config: Config, on_gesture, on_job) -> ControlServer | None:
    """The control socket for `reflect press` / `hold` and the owner's jobs; without it the button still works."""
    try:
        return ControlServer(runtime_dir(config.data_dir), on_gesture, on_job=on_job)
    except OSError as error:
        log.warning("no control socket for reflect press/hold (%s); the button still works", error)
        return None


def run_one_session(config: Config, keyboard: bool = False) -> int:
    """`reflect session`: one session now, then wait for its transcripts; it owns the notes meanwhile."""
    with own(config.data_dir, "session"):
        return _one_session(config, keyboard)


def _one_session(config: Config, keyboard: bool) -> int:
    device = build_device(config)
    device.parts.on_event, led = _listeners(config)
    button = _gestures(config, device, keyboard, on_eof=lambda: None)
    try:
        notes = ServiceLoop(device, config.data_dir, replay=lambda: None).handle(
            GestureEvent(Gesture.PRESS, time.monotonic())
        )
        device.parts.worker.drain()
    finally:
        button.close()
        if led is not None:
            led.close()
        device.close()
    if notes is not None:
        print(f"Saved in {notes.folder}")
    return 0 if notes is not None else 1


def play_notes(config: Config, name: str, answer: int | None, with_questions: bool) -> int:
    """`reflect play`: a session (or one answer) through the speaker, question first unless asked not to."""
    archive = Archive(config.data_dir, sets_aside=False)
    session = archive.load(name)
    if answer is not None:
        session.answer(answer)  # a wrong number is said before the speaker is opened

    def play(replay: Replay) -> None:
        if session.sealed:  # nothing of it can be heard here: said once, then the command stops
            replay.player.say(PHRASES.notes_sealed)
            raise SealedUnreadable(
                f"session {session.id} is sealed, so it cannot be played on the device; "
                "open it on your computer (reflect open --identity YOUR-KEY)"
            )
        replay.play(session, answer, with_questions)

    _through_speaker(config, play, archive)
    return 0


def play_question(config: Config, number: int, since: date | None) -> int:
    """`reflect play --question N`: that question's answers across time, oldest first, each after its date."""
    archive = Archive(config.data_dir, sets_aside=False)
    chosen_question(archive.load("latest"), number)  # a wrong number is said before the speaker is opened
    _through_speaker(config, lambda replay: replay.question(number, since), archive)
    return 0


def _through_speaker(config: Config, play, archive: Archive) -> None:
    """Run `play(replay)` with a Replay on the configured speaker and the pack's voice."""
    pack = load_pack(config)
    speaker = open_speaker(config)
    prompts = PromptCache(
        config.cache_dir / "prompts", config.speech.voice or pack.voice, config.speech.rate or pack.rate
    )
    try:
        play(Replay(archive, Player(speaker, prompts, Inbox())))
    finally:
        speaker.close()
