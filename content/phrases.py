"""The device's own sentences, said in the pack's voice: endings and every failure a person can fix."""

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Phrases:
    ended_early: str = "Ending here. Everything you said is saved. Goodbye for now."
    no_microphone: str = "I can't find a microphone. Please check it is plugged in, then press the button again."
    microphone_lost: str = "I can't hear the microphone. Your answers so far are saved."
    disk_full: str = "The memory card is full, so I have to stop here. Your answers so far are saved."
    no_space_to_start: str = "The memory card is almost full, so I can't start a session. Your earlier notes are safe."
    no_notes: str = "There are no saved reflections yet. Press the button once to begin one."
    replay_start: str = "Here are your answers from your last reflection."
    replay_end: str = "That was your last reflection."
    notes_sealed: str = "Your earlier notes are sealed; open them on your computer."
    sealed_left_out: str = "Some of these answers are sealed, so I leave them out; open them on your computer."
    no_answers_to_question: str = "You have no recorded answers to this question yet."
    across_time_end: str = "Those were your answers to this question, over time."
    look_back_month: str = "A month ago you answered this too. Press to hear it, or just carry on."
    look_back_year: str = "A year ago you answered this too. Press to hear it, or just carry on."
    shutting_down: str = "Shutting down. It is safe to unplug me when the light goes out."
    something_went_wrong: str = "Something went wrong, so I have stopped. Your answers so far are saved."

    def all(self) -> tuple[str, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


PHRASES = Phrases()
