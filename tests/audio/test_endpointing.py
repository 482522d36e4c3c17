"""End of an answer: long silence after speech, no speech at all, or the longest answer, each at its exact edge."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from audio.endpointing import AnswerEndpointer, EndpointSettings, EndReason

SETTINGS = EndpointSettings(silence_after_speech_s=2.0, no_speech_s=5.0, max_length_s=10.0)


def run(chunks, settings=SETTINGS) -> list[EndReason | None]:
    """Feed (seconds, is_speech) chunks; what the endpointer answered for each."""
    endpointer = AnswerEndpointer(settings)
    return [endpointer.process(seconds, speech) for seconds, speech in chunks]


def speech(seconds: float, chunk: float = 0.5):
    return [(chunk, True)] * round(seconds / chunk)


def silence(seconds: float, chunk: float = 0.5):
    return [(chunk, False)] * round(seconds / chunk)


def test_defaults_are_patient_7_s_of_silence_30_s_without_speech_300_s_at_most():
    assert run(speech(1) + silence(6.5), EndpointSettings())[-1] is None
    assert run(speech(1) + silence(7), EndpointSettings())[-1] is EndReason.SILENCE
    assert run(silence(29.5), EndpointSettings())[-1] is None
    assert run(silence(30), EndpointSettings())[-1] is EndReason.NO_SPEECH
    assert run(speech(299.5), EndpointSettings())[-1] is None
    assert run(speech(300), EndpointSettings())[-1] is EndReason.MAX_LENGTH


def test_silence_after_speech_ends_the_answer_exactly_when_it_reaches_the_setting():
    answered = run(speech(1) + silence(2))
    assert answered[:-1] == [None] * (len(answered) - 1)
    assert answered[-1] is EndReason.SILENCE


def test_speech_resets_the_silence_count():
    answered = run(speech(1) + silence(1.5) + speech(0.5) + silence(1.5) + speech(0.5) + silence(2))
    assert answered[:-1] == [None] * (len(answered) - 1)
    assert answered[-1] is EndReason.SILENCE


def test_speech_chunks_count_towards_the_answer_length_but_not_the_silence():
    endpointer = AnswerEndpointer(SETTINGS)
    endpointer.process(1.5, True)
    endpointer.process(0.25, False)
    assert (endpointer.elapsed_s, endpointer.silence_s, endpointer.heard_speech) == (1.75, 0.25, True)
    endpointer.process(0.5, True)
    assert (endpointer.elapsed_s, endpointer.silence_s) == (2.25, 0.0)


def test_no_speech_at_all_ends_the_answer_exactly_at_the_setting():
    answered = run(silence(5))
    assert answered[:-1] == [None] * 9
    assert answered[-1] is EndReason.NO_SPEECH


def test_once_speech_was_heard_the_no_speech_limit_no_longer_applies():
    patient = EndpointSettings(silence_after_speech_s=8.0, no_speech_s=5.0, max_length_s=100.0)
    answered = run(speech(0.5) + silence(7.5), patient)
    assert answered == [None] * len(answered)
    assert run(speech(0.5) + silence(8), patient)[-1] is EndReason.SILENCE


def test_speech_late_in_the_wait_still_counts_as_speech():
    """Speech just before the no-speech limit: the answer goes on until the silence after it."""
    answered = run(silence(4.5) + speech(0.5) + silence(1.5))
    assert answered == [None] * len(answered)


def test_an_answer_ends_at_the_longest_length_even_mid_speech():
    answered = run(speech(10))
    assert answered[:-1] == [None] * 19
    assert answered[-1] is EndReason.MAX_LENGTH


def test_the_longest_length_wins_when_silence_ends_at_the_same_moment():
    answered = run(speech(8) + silence(2))
    assert answered[-1] is EndReason.MAX_LENGTH


def test_the_longest_length_wins_over_no_speech_at_the_same_moment():
    answered = run(silence(5), EndpointSettings(silence_after_speech_s=2.0, no_speech_s=5.0, max_length_s=5.0))
    assert answered[-1] is EndReason.MAX_LENGTH


CHUNKS = st.lists(st.tuples(st.sampled_from([0.125, 0.25, 0.5, 1.0]), st.booleans()), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(CHUNKS, st.sampled_from([1.0, 2.0, 3.5]), st.sampled_from([2.0, 5.0]), st.sampled_from([6.0, 10.0]))
def test_the_answer_ends_on_the_first_chunk_a_limit_is_reached_and_says_which(chunks, after, none, longest):
    """Against the rule stated in whole seconds: elapsed >= max, else silence since speech >= limit, else no speech."""
    settings_ = EndpointSettings(silence_after_speech_s=after, no_speech_s=none, max_length_s=longest)
    endpointer = AnswerEndpointer(settings_)
    elapsed = since_speech = Fraction(0)
    heard = False
    for seconds, is_speech in chunks:
        elapsed += Fraction(seconds)
        since_speech = Fraction(0) if is_speech else since_speech + Fraction(seconds)
        heard = heard or is_speech
        if elapsed >= longest:
            expected = EndReason.MAX_LENGTH
        elif heard and since_speech >= after:
            expected = EndReason.SILENCE
        elif not heard and elapsed >= none:
            expected = EndReason.NO_SPEECH
        else:
            expected = None
        assert endpointer.process(seconds, is_speech) is expected
        if expected is not None:
            break


def test_seventy_chunks_of_a_tenth_of_a_second_are_exactly_seven_seconds_of_silence():
    """A float sum of 0.1 s chunks falls just short of 7 s; the answer must not wait one chunk more."""
    answered = run([(0.1, True)] + [(0.1, False)] * 70, EndpointSettings())
    assert answered[-2] is None and answered[-1] is EndReason.SILENCE
    assert run([(0.1, False)] * 50, EndpointSettings(no_speech_s=5.0))[-1] is EndReason.NO_SPEECH
    assert run([(0.1, True)] * 60, EndpointSettings(max_length_s=6.0))[-1] is EndReason.MAX_LENGTH
