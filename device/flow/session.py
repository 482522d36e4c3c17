"""One spoken reflection, read as a script: chime, greeting, each question and answer, closing."""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio import tones
from audio.answer_capture import AnswerCapture, CaptureSettings
from audio.clips import Clip, int16_to_float
from audio.compress import compress_answer
from audio.endpointing import AnswerEndpointer, EndpointSettings
from audio.microphone import Microphone
from audio.recognizer import Transcript
from audio.voice_activity import DetectorSettings, SpeechDetector
from common.files import free_bytes, is_disk_full
from content.packs import Pack
from content.phrases import PHRASES
from device.clock import clock_status
from device.config import MB, ClockSettings, ReflectionSettings, StorageSettings
from device.flow.events import Event, EventKind
from device.flow.gestures import Gesture, GestureEvent
from device.flow.inbox import AudioChunk, MicFailed
from device.flow.parts import SessionParts
from device.flow.player import Player, Playing
from device.flow.replay import ANSWER_INTRO
from device.notes import record
from device.notes.archive import Archive
from device.notes.look_back import earlier_answer
from device.notes.record import AnswerStatus, EndedBy, SessionStatus
from device.notes.session_notes import SessionNotes
from device.notes.spoken_date import date_in_words

log = logging.getLogger(__name__)

SESSION_ENDINGS = (EndedBy.HOLD, EndedBy.MIC_LOST, EndedBy.DISK_FULL)
"""Ways an answer can end that also end the session (no 'saved' tone: what follows says why)."""


@dataclass(frozen=True)
class SessionSettings:
    endpoint: EndpointSettings = EndpointSettings()
    capture: CaptureSettings = CaptureSettings()
    detector: DetectorSettings = DetectorSettings()
    mic_silent_after_s: float = 2.0
    """No audio callbacks for this long means the microphone is gone."""
    min_free_bytes: int = StorageSettings.min_free_mb * MB
    """A session does not start with less free space than this in the data dir."""
    audio_format: str = StorageSettings.audio_format
    """How a finished answer is kept: "opus" or "flac" (compressed on the recognizer's thread, after its
    transcript) or "wav" (as recorded)."""
    clock_trust: str = ClockSettings.trust
    """Whether the wall clock counts as right (config clock.trust): auto asks the system."""
    look_back: str = ReflectionSettings.look_back
    """reflection.look_back: after an answer, offer one from about a month or a year before ("off": never)."""
    look_back_wait_s: float = 5.0
    """How long after its offer a press still means "play it"."""


class Session:
    """Walks one pack with one person. Runs on the flow thread; reads gestures from the inbox."""

    def __init__(self, pack: Pack, parts: SessionParts, settings: SessionSettings, data_dir: Path):
        self.pack = pack
        self.parts = parts
        self.settings = settings
        self.data_dir = data_dir
        self.notes: SessionNotes | None = None
        self._kept: list[_AnswerInProgress] = []
        self._answering: _AnswerInProgress | None = None
        """The answer being recorded now."""
        self._just_given: int | None = None
        """The answer noted last, if it was recorded (not skipped): what a double press after it marks."""
        self.player = Player(parts.speaker, parts.prompts, parts.inbox, on_double_press=self._mark)

    def run(self) -> SessionNotes | None:
        """The whole session; returns its notes (None if it could not start). Ends ready for a press."""
        chime = self.player.start(tones.chime(self.parts.speaker.rate))  # heard at once: the press was taken
        try:
            microphone = self._preflight()
            if microphone is not None:
                self._record(microphone, chime)
        finally:
            self._emit(
                Event(EventKind.SESSION_SAVED, session=self.notes.id) if self.notes else Event(EventKind.WAITING)
            )
        return self.notes

    def _preflight(self) -> Microphone | None:
        """Free space and a microphone, or say why a session cannot start."""
        if free_bytes(self.data_dir) < self.settings.min_free_bytes:
            log.error("not enough free space to start a session in %s", self.data_dir)
            self._emit(Event(EventKind.DISK_ALMOST_FULL))
            self.player.say(PHRASES.no_space_to_start)
            return None
        try:
            return self.parts.open_microphone()
        except Exception as error:
            log.error("no microphone: %s", error)
            self._emit(Event(EventKind.NO_MICROPHONE))
            self.player.say(PHRASES.no_microphone)
            return None

    def _record(self, microphone: Microphone, chime: Playing) -> None:
        try:
            clock = clock_status(self.settings.clock_trust)
            notes = self.notes = SessionNotes.begin(
                self.data_dir, self.pack, microphone.rate, now=self.parts.wall_clock(), clock=clock
            )
        except OSError as error:
            if not is_disk_full(error):
                raise
            log.error("no room to start a session in %s", self.data_dir)
            self._emit(Event(EventKind.DISK_FULL))
            self.player.say(PHRASES.no_space_to_start)
            return
        log.info("session %s started", notes.id)
        status = SessionStatus.ENDED_EARLY
        try:
            status = self._walk(microphone, chime)
        except OSError as error:
            if not is_disk_full(error):
                self._failed(notes)
            else:
                log.error("disk full while saving session %s", notes.id)
                self._emit(Event(EventKind.DISK_FULL))
                self.player.say(PHRASES.disk_full)
        except Exception:
            self._failed(notes)
        finally:
            try:
                notes.finish(status)
            except OSError as error:  # the files on disk stay as they were; recovery completes them
                log.error("could not record the end of session %s: %s", notes.id, error.strerror)
            log.info("session %s %s", notes.id, status)
            for answer in self._kept:  # once the session is over, so recognition never competes with it
                self.parts.worker.later(answer.compress)
            self.parts.worker.later(self.parts.seal)  # once its transcripts and compression are done

    def _failed(self, notes: SessionNotes) -> None:
        log.exception("session %s failed; what was said so far is kept", notes.id)
        self._emit(Event(EventKind.SESSION_FAILED))
        self.player.say(PHRASES.something_went_wrong)

    def _walk(self, microphone: Microphone, chime: Playing) -> SessionStatus:
        """Each sound is queued while the one before it plays, so they follow each other without a gap."""
        rate = self.parts.speaker.rate
        self._emit(Event(EventKind.GREETING))
        before: Playing | None = self.player.start_next(self.player.prompt(self.pack.greeting))
        if self.player.wait(chime) is Gesture.HOLD:
            return self._end_early()
        for index, question in enumerate(self.pack.questions, start=1):
            asking = self.player.start_next(self.player.prompt(question))
            if before is not None and self.player.wait(before) is Gesture.HOLD:
                return self._end_early()
            self._emit(Event(EventKind.QUESTION, index))
            listening_tone = self.player.start_next(tones.listening_tone(rate))
            if self.player.wait(asking) is Gesture.HOLD:
                return self._end_early()
            if self.player.wait(listening_tone) is Gesture.HOLD:
                return self._end_early()
            ended_by, saved_tone = self._listen(microphone, index)
            if ended_by is EndedBy.HOLD:
                return self._end_early()
            if ended_by is EndedBy.MIC_LOST:
                self._emit(Event(EventKind.MICROPHONE_LOST, index))
                self.player.say(PHRASES.microphone_lost)
                return SessionStatus.ENDED_EARLY
            if ended_by is EndedBy.DISK_FULL:
                self._emit(Event(EventKind.DISK_FULL, index))
                self.player.say(PHRASES.disk_full)
                return SessionStatus.ENDED_EARLY
            assert saved_tone is not None  # every other ending started the 'saved' tone
            held, before = self._look_back(index, saved_tone)
            if held:
                return self._end_early()
        closing = self.player.start_next(self.player.prompt(self.pack.closing))
        # a hold once every answer is saved just silences the rest
        if before is None or self.player.wait(before) is not Gesture.HOLD:
            self._emit(Event(EventKind.CLOSING))
            self.player.wait(closing)
        return SessionStatus.COMPLETE

    def _end_early(self) -> SessionStatus:
        self._emit(Event(EventKind.ENDING_EARLY))
        self.player.say(PHRASES.ended_early)
        return SessionStatus.ENDED_EARLY

    def _emit(self, event: Event) -> None:
        self.parts.on_event(event)

    def _look_back(self, index: int, saved_tone: Playing) -> tuple[bool, Playing | None]:
        """After answer `index` is saved: offer once an earlier answer to its question, and play it only if a press
        comes. Returns whether a hold ended the session, and the sound still to wait for (None: all waited)."""
        if self.settings.look_back == "off" or self._just_given != index or self.notes is None:
            return False, saved_tone
        if not record.clock_trusted(self.notes.record):
            log.info("looking back stays silent: the clock was not set when this session began, so no date is sure")
            return False, saved_tone
        try:
            earlier = earlier_answer(
                self.data_dir,
                self.pack.questions[index - 1],
                self.parts.wall_clock().astimezone(),
                self.settings.look_back,
            )
        except Exception as error:  # the session goes on without it
            log.error("could not look back: %s", error)
            return False, saved_tone
        if earlier is None:
            return False, saved_tone
        log.info("looking back: offering answer %d of session %s", earlier.answer.index, earlier.session.id)
        offer = PHRASES.look_back_month if self.settings.look_back == "month" else PHRASES.look_back_year
        if self.player.wait(saved_tone) is Gesture.HOLD or (gesture := self.player.say(offer)) is Gesture.HOLD:
            return True, None
        gesture = gesture or self._press_within(self.settings.look_back_wait_s)
        if gesture is not Gesture.PRESS:
            return gesture is Gesture.HOLD, None
        when = date_in_words(earlier.session.started_at, self.parts.wall_clock().date(), earlier.session.clock_trusted)
        gesture = self.player.say(ANSWER_INTRO.format(date=when))
        if gesture is None:
            samples, rate = Archive(self.data_dir).read_answer_audio(earlier.session, earlier.answer.index)
            gesture = self.player.play(Clip(int16_to_float(samples), rate))
        return gesture is Gesture.HOLD, None

    def _press_within(self, seconds: float) -> Gesture | None:
        """A press or hold within `seconds` (a double press also marks the answer just given), else None."""
        deadline = self.parts.inbox.clock.now() + seconds
        while (item := self.parts.inbox.next_item(deadline)) is not None:
            if isinstance(item, GestureEvent) and item.gesture is Gesture.DOUBLE_PRESS:
                self._mark()
            elif isinstance(item, GestureEvent) and item.gesture in (Gesture.PRESS, Gesture.HOLD):
                return item.gesture
        return None

    def _mark(self) -> None:
        """A double press: mark the answer being given (or the one just given) "for my therapist", with a soft
        tone over whatever plays; before any answer, or after a skipped one, there is nothing to mark."""
        if self._answering is not None:
            self._answering.marked = True
            index = self._answering.index
        elif (
            self._just_given is not None and self.notes is not None and self.notes.mark_for_therapist(self._just_given)
        ):
            index = self._just_given
        else:
            log.info("a double press with no answer just given: nothing to mark")
            return
        self.parts.speaker.overlay(tones.marked_tone(self.parts.speaker.rate))
        log.info("answer %d marked for the therapist", index)

    def _listen(self, microphone: Microphone, index: int) -> tuple[EndedBy, Playing | None]:
        """Record one answer until it ends; save it and hand it to the recognizer. Returns how it ended and,
        unless that ends the session, the 'saved' tone, started before anything else so a press is heard at once."""
        capture_id = self.parts.inbox.token()
        answer = _AnswerInProgress(self, microphone.rate, index)
        self._emit(Event(EventKind.LISTENING, index))
        saved_tone = None
        self._answering, self._just_given = answer, None
        try:
            ended_by = self._capture(microphone, answer, capture_id)
            if ended_by not in SESSION_ENDINGS:  # chunks still arriving from the microphone are not kept
                saved_tone = self.player.start(tones.saved_tone(self.parts.speaker.rate))
        finally:
            try:
                microphone.stop()
            except Exception as error:  # a dead stream may fail to stop; the answer is still saved
                log.error("the microphone did not stop cleanly: %s", error)
        self._emit(Event(EventKind.SAVING, index, ended_by=ended_by))
        self._answering = None
        ended_by = answer.save(ended_by)
        self._just_given = index if answer.capture.kept else None
        return ended_by, saved_tone

    def _capture(self, microphone: Microphone, answer: "_AnswerInProgress", capture_id: int) -> EndedBy:
        """Feed the answer the microphone's chunks until it ends; returns how it ended."""
        inbox = self.parts.inbox
        try:
            microphone.start(
                lambda samples: inbox.put(AudioChunk(capture_id, samples)),
                lambda reason: inbox.put(MicFailed(capture_id, reason)),
            )
            last_audio = inbox.clock.now()
            while True:
                item = inbox.next_item(last_audio + self.settings.mic_silent_after_s)
                if item is None:
                    return EndedBy.MIC_LOST
                if isinstance(item, AudioChunk) and item.capture == capture_id:
                    last_audio = inbox.clock.now()
                    ended_by = answer.add(item.samples)
                    if ended_by:
                        return ended_by
                elif isinstance(item, MicFailed) and item.capture == capture_id:
                    log.error("microphone failed: %s", item.reason)
                    return EndedBy.MIC_LOST
                elif isinstance(item, GestureEvent) and item.gesture is Gesture.DOUBLE_PRESS:
                    self._mark()
                elif isinstance(item, GestureEvent) and item.gesture is not Gesture.LONG_HOLD:  # ready state only
                    return EndedBy.PRESS if item.gesture is Gesture.PRESS else EndedBy.HOLD
        except Exception as error:
            if is_disk_full(error):
                log.error("disk full while recording answer %d", answer.index)
                return EndedBy.DISK_FULL
            log.error("could not record from the microphone: %s", error)
            return EndedBy.MIC_LOST


class _AnswerInProgress:
    """The capture of one answer, its recognizer job, and its entry in the notes."""

    def __init__(self, session: Session, rate: int, index: int):
        self.session = session
        self.index = index
        self.marked = False
        """A double press while it was being recorded marked it "for my therapist"."""
        self.job = session.parts.worker.recognize(rate)
        settings = session.settings
        assert session.notes is not None  # answers are recorded only into begun notes
        self.notes = session.notes
        self.capture = AnswerCapture(
            self.notes.audio_path(index),
            rate,
            SpeechDetector(rate, settings.detector),
            AnswerEndpointer(settings.endpoint),
            self.job,
            settings.capture,
            session.parts.inbox.clock,
        )

    def add(self, samples: np.ndarray) -> EndedBy | None:
        """Take a chunk; returns DISK_FULL or the end reason when the answer ends, else None."""
        try:
            reason = self.capture.add(samples)
        except OSError as error:
            if not is_disk_full(error):
                raise
            log.error("disk full while recording answer %d", self.index)
            return EndedBy.DISK_FULL
        return EndedBy(reason.value) if reason else None

    def save(self, ended_by: EndedBy) -> EndedBy:
        """Seal the answer's file and note it; hand it to the recognizer. Returns how it ended
        (DISK_FULL if the disk filled while sealing or noting it)."""
        notes = self.notes
        try:
            duration = self.capture.finish()
        except Exception as error:
            if not is_disk_full(error):
                self.job.end()  # the worker frees the recognizer; recovery transcribes what was kept
                raise
            log.error("disk full while saving answer %d", self.index)
            ended_by, duration = EndedBy.DISK_FULL, 0.0
        if self.capture.disk_full:
            ended_by = EndedBy.DISK_FULL
        if not self.capture.kept:
            self.job.end()
            notes.add_answer(self.index, None, 0.0, AnswerStatus.SKIPPED, ended_by)
            return ended_by
        name = self.saved_path.name
        log.info("answer %d recorded: %s, %.1f s", self.index, name, duration)
        self.session._kept.append(self)
        try:
            notes.add_answer(self.index, name, duration, AnswerStatus.ANSWERED, ended_by)
            if self.marked:
                notes.mark_for_therapist(self.index)
        finally:  # even if the notes could not be written, the audio gets its transcript
            self.job.end(self._transcribed)
        return ended_by

    @property
    def saved_path(self) -> Path:
        """The answer's file, once it is kept."""
        path = self.capture.saved_path
        assert path is not None  # asked for only once the capture kept the answer
        return path

    def _transcribed(self, transcript: Transcript | None) -> None:
        """On the recognizer's thread: note the transcript."""
        try:
            self.notes.set_transcript(self.index, transcript)
        except Exception as error:
            log.error(
                "could not save the transcript of answer %d: %s",
                self.index,
                getattr(error, "strerror", None) or type(error).__name__,
            )

    def compress(self) -> None:
        """On the recognizer's thread, after the session: compress the answer (the WAV stays until that is complete)."""
        notes = self.notes
        codec = self.session.settings.audio_format
        if codec == "wav":
            return
        try:
            compressed = compress_answer(self.saved_path, codec)
        except Exception as error:
            log.error("answer %d stays uncompressed: %s", self.index, getattr(error, "strerror", None) or error)
            return
        log.info("answer %d compressed to %s", self.index, compressed.name)
        try:
            notes.set_audio(self.index, compressed.name)
        except Exception as error:  # the archive finds the compressed file anyway; recovery fixes the note
            log.error(
                "could not note the compressed answer %d: %s",
                self.index,
                getattr(error, "strerror", None) or type(error).__name__,
            )
