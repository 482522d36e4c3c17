"""The recognizer's worker: answers in order, and the transcript goes out before the recognizer is freed."""

import weakref

import numpy as np

from audio.recognizer import Transcript
from audio.transcriber import Transcriber


class EchoRecognizer:
    """Stands in for Vosk: the transcript says how many chunks it was fed."""

    def __init__(self):
        self.chunks = 0

    def feed(self, samples) -> None:
        self.chunks += 1

    def finish(self) -> Transcript:
        return Transcript(f"{self.chunks} chunks", ())


def test_the_transcript_goes_out_before_the_recognizer_is_freed():
    """Freeing a Kaldi recognizer takes about 0.1 s of CPU: the notes must not wait for it."""
    order = []

    def new_recognizer(rate):
        recognizer = EchoRecognizer()
        weakref.finalize(recognizer, order.append, "freed")
        return recognizer

    transcriber = Transcriber(new_recognizer)
    handle = transcriber.begin(16000)
    for _ in range(3):
        transcriber.feed(handle, np.zeros(1600, dtype=np.int16))
    transcriber.end(handle, lambda transcript: order.append(transcript.text))
    transcriber.drain()
    transcriber.close()
    assert order == ["3 chunks", "freed"]


def test_answers_are_transcribed_in_the_order_they_ended():
    texts = []
    transcriber = Transcriber(lambda rate: EchoRecognizer())
    first, second = transcriber.begin(16000), transcriber.begin(16000)
    transcriber.feed(first, np.zeros(10, dtype=np.int16))
    for _ in range(2):
        transcriber.feed(second, np.zeros(10, dtype=np.int16))
    transcriber.end(second, lambda transcript: texts.append(transcript.text))
    transcriber.end(first, lambda transcript: texts.append(transcript.text))
    transcriber.drain()
    transcriber.close()
    assert texts == ["2 chunks", "1 chunks"]
