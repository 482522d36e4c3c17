"""Finding the microphone (and speaker) again after they went away, without restarting the device.

PortAudio reads its device list once; after an unplugged microphone or a
restarted audio server a new stream opens but stays silent until the list is
re-read (`audio.devices.rescan()`). Re-reading tears down every open PortAudio
stream, so the speaker's stream is closed first and reopened on its next clip.

- `MicrophoneWatch` is the session's `open_microphone`: it rescans before an open
  when the last open failed or the last microphone was lost (stream error, or no
  audio for a while when it was stopped).
- `RecoveringSpeaker` wraps the real speaker: a dead stream is reopened at the
  next clip; with no speaker at all, clips "play" silently for their length and
  that is logged once (a warning), so a session still records and saves.
"""

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from audio import devices
from audio.clips import Clip
from audio.microphone import Microphone, OnChunk, OnError
from audio.speaker import SilentSpeaker, Sounding, Speaker
from common.monotonic_clock import SYSTEM_CLOCK, MonotonicClock

log = logging.getLogger(__name__)

QUIET_MEANS_LOST_S = 0.4
"""A microphone stopped with no audio for this long (or three chunks' time, if longer) is treated as lost."""
SPEAKER_RETRY_S = 5.0
"""How often a missing or dead speaker is tried again (at the next clip once this long has passed)."""


class MicrophoneWatch:
    """Callable as `SessionParts.open_microphone`; re-reads the device list when the microphone went away."""

    def __init__(
        self,
        open_microphone: Callable[[], Microphone],
        rescan: Callable[[], None] = devices.rescan,
        before_rescan: Callable[[], None] = lambda: None,
        clock: MonotonicClock = SYSTEM_CLOCK,
    ):
        self.open_microphone = open_microphone
        self.clock = clock
        """What a stream's quiet is timed by (the flow's clock)."""
        self.rescan = rescan
        self.before_rescan = before_rescan
        self.stale = False
        """True when the device list must be re-read before the next open."""
        self.rescans = 0

    def __call__(self) -> Microphone:
        if self.stale:
            self._rescan()
        try:
            microphone = self.open_microphone()
        except Exception:
            self.stale = True
            raise
        return _WatchedMicrophone(microphone, self)

    def _rescan(self) -> None:
        self.before_rescan()
        self.rescan()
        self.rescans += 1
        self.stale = False
        log.info("re-read the audio device list")

    def lost(self, reason: str) -> None:
        if not self.stale:
            log.warning("microphone lost (%s); the device list will be re-read before the next session", reason)
        self.stale = True


class _WatchedMicrophone:
    """The opened microphone, reporting its loss to the watch."""

    def __init__(self, microphone: Microphone, watch: MicrophoneWatch):
        self.microphone = microphone
        self.watch = watch
        self.rate = microphone.rate
        self._last_chunk: float | None = None
        self._started_at: float | None = None
        self._chunk_s = 0.0

    def start(self, on_chunk: OnChunk, on_error: OnError) -> None:
        self._started_at = self._last_chunk = None

        def chunk(samples: np.ndarray) -> None:
            self._last_chunk = self.watch.clock.now()
            self._chunk_s = len(samples) / self.rate
            on_chunk(samples)

        def error(reason: str) -> None:
            self.watch.lost(reason)
            on_error(reason)

        self._started_at = self.watch.clock.now()
        try:
            self.microphone.start(chunk, error)
        except Exception as failure:
            self.watch.lost(str(failure))
            raise

    def stop(self) -> None:
        now = self.watch.clock.now()
        last = self._last_chunk or self._started_at
        if last is not None and now - last >= max(QUIET_MEANS_LOST_S, 3 * self._chunk_s):
            self.watch.lost(f"no audio for {now - last:.1f} s")
        try:
            self.microphone.stop()
        except Exception as failure:
            self.watch.lost(f"it did not stop cleanly: {failure}")
            raise


class RecoveringSpeaker:
    """A speaker that reopens its stream after the audio system comes back, and stays quiet (logged) meanwhile."""

    def __init__(
        self,
        open_speaker: Callable[[], Speaker],
        rate: int = 22050,
        retry_s: float = SPEAKER_RETRY_S,
        without: str | None = None,
    ):
        self.open_speaker = open_speaker
        self.retry_s = retry_s
        self.without = without or "carrying on silently: sessions still record"
        """What going on without a speaker means, said once each time it is found missing."""
        self._missing = False
        self._lock = threading.Lock()
        self._silent = SilentSpeaker(rate)
        self._speaker: Speaker | None = None
        self._last_try = -retry_s
        self._speaker = self._try_open()
        self.rate = self._speaker.rate if self._speaker is not None else rate

    def _try_open(self) -> Speaker | None:
        self._last_try = time.monotonic()
        try:
            speaker = self.open_speaker()
        except Exception as error:
            if self._missing:  # said already; it is tried again every retry_s
                log.debug("still no speaker: %s", error)
            else:
                log.warning("no speaker (%s); %s", error, self.without)
                self._missing = True
            return None
        self._missing = False
        log.info("speaker ready")
        return speaker

    def _current(self) -> Speaker | None:
        speaker = self._speaker
        if speaker is not None and getattr(speaker, "active", True):
            return speaker
        if speaker is not None:
            log.warning("the speaker stopped working; carrying on silently until it is back")
            self._close(speaker)
            self._speaker = None
        if time.monotonic() - self._last_try >= self.retry_s:
            self._speaker = self._try_open()
        return self._speaker

    @staticmethod
    def _close(speaker: Speaker) -> None:
        try:
            speaker.close()
        except Exception as error:
            log.warning("closing the old speaker failed: %s", error)

    def play(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        return self._playing_one().play(clip, on_done)

    def play_next(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        return self._playing_one().play_next(clip, on_done)

    def _playing_one(self) -> Speaker:
        """The real speaker if it works (reopening it when due), else the silent stand-in."""
        with self._lock:
            return self._current() or self._silent

    def skip(self) -> None:
        for speaker in self._both():
            speaker.skip()

    def stop(self) -> None:
        for speaker in self._both():
            speaker.stop()

    def overlay(self, clip: Clip) -> None:
        self._playing_one().overlay(clip)

    def _both(self) -> list[Speaker]:
        """The real speaker (if open) and the silent stand-in: a clip may be playing on either."""
        with self._lock:
            speaker = self._speaker
        return [self._silent] if speaker is None else [speaker, self._silent]

    def release(self) -> None:
        """Close the stream (before the device list is re-read); the next clip reopens it."""
        with self._lock:
            speaker, self._speaker = self._speaker, None
            self._last_try = -self.retry_s
        if speaker is not None:
            self._close(speaker)

    def close(self) -> None:
        self.release()
        self._silent.close()
