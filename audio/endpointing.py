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
        self.elapsed_s = 0.0
        self.silence_s = 0.0
        self.heard_speech = False

    def process(self, chunk_s: float, is_speech: bool) -> EndReason | None:
        """Account for one chunk; return why the answer ends now, or None to keep listening."""
        self.elapsed_s += chunk_s
        if is_speech:
            self.heard_speech = True
            self.silence_s = 0.0
        else:
            self.silence_s += chunk_s
        if self.elapsed_s >= self.settings.max_length_s:
            return EndReason.MAX_LENGTH
        if self.heard_speech and self.silence_s >= self.settings.silence_after_speech_s:
            return EndReason.SILENCE
        if not self.heard_speech and self.elapsed_s >= self.settings.no_speech_s:
            return EndReason.NO_SPEECH
        return None
