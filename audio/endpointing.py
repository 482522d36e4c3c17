"""When an answer is over: a pure decision fed chunk durations and speech/no-speech, no clock."""

from dataclasses import dataclass
from enum import Enum


class EndReason(Enum):
    """Why an answer ended on its own (a press or hold is decided by the session)."""

    SILENCE = "silence"
    NO_SPEECH = "no_speech"
    MAX_LENGTH = "max_length"


@dataclass(frozen=True)
class EndpointSettings:
    silence_after_speech_s: float = 7.0
    no_speech_s: float = 30.0
    max_length_s: float = 300.0


class AnswerEndpointer:
    """Decides, chunk by chunk, whether the person has finished answering.

    Patient by design: reflective answers have long pauses, so only a long
    silence after speech ends an answer.
    """

    def __init__(self, settings: EndpointSettings):
        self.settings = settings
        self._elapsed_us = 0
        self._silence_us = 0
        self.heard_speech = False

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_us / 1e6

    @property
    def silence_s(self) -> float:
        return self._silence_us / 1e6

    def process(self, chunk_s: float, is_speech: bool) -> EndReason | None:
        """Account for one chunk; return why the answer ends now, or None to keep listening.

        Time is summed in whole microseconds: seventy 0.1 s chunks make exactly 7 s (a float sum falls
        short of it and would end the silence one chunk late).
        """
        chunk_us = round(chunk_s * 1e6)
        self._elapsed_us += chunk_us
        if is_speech:
            self.heard_speech = True
            self._silence_us = 0
        else:
            self._silence_us += chunk_us
        if self._elapsed_us >= _us(self.settings.max_length_s):
            return EndReason.MAX_LENGTH
        if self.heard_speech and self._silence_us >= _us(self.settings.silence_after_speech_s):
            return EndReason.SILENCE
        if not self.heard_speech and self._elapsed_us >= _us(self.settings.no_speech_s):
            return EndReason.NO_SPEECH
        return None


def _us(seconds: float) -> int:
    return round(seconds * 1e6)
