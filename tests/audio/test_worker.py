"""The recognizer's worker: answers in order, and the transcript goes out before the recognizer is freed."""

import weakref

import numpy as np

from audio.recognizer import Transcript
from audio.worker import Worker


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

    worker = Worker(new_recognizer)
    handle = worker.begin(16000)
    for _ in range(3):
        worker.feed(handle, np.zeros(1600, dtype=np.int16))
    worker.end(handle, lambda transcript: order.append(transcript.text))
    worker.drain()
    worker.close()
    assert order == ["3 chunks", "freed"]


def test_answers_are_transcribed_in_the_order_they_ended():
    texts = []
    worker = Worker(lambda rate: EchoRecognizer())
    first, second = worker.begin(16000), worker.begin(16000)
    worker.feed(first, np.zeros(10, dtype=np.int16))
    for _ in range(2):
        worker.feed(second, np.zeros(10, dtype=np.int16))
    worker.end(second, lambda transcript: texts.append(transcript.text))
    worker.end(first, lambda transcript: texts.append(transcript.text))
    worker.drain()
    worker.close()
    assert texts == ["2 chunks", "1 chunks"]
