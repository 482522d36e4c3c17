"""Privacy at rest: 0700 folders and 0600 files whatever the umask; no transcript text in any log."""

import logging
import os

import pytest

from audio.fakes import ScriptedMicrophone, silence, speech
from audio.recognizer import Transcript, Word
from audio.wavfile import WavWriter
from audio.worker import Worker
from device.notes.archive import Archive
from device.notes.recovery import recover
from tests.device.flow.session_harness import RATE, FakeDevice
from tests.faults.support import private_modes, session_records, tiny_pack

SECRET_WORDS = ("marmalade", "zeppelin", "quokka", "thimble")


class SecretRecognizer:
    """Hears distinctive words, so the logs can be searched for them."""

    def __init__(self, rate):
        self.rate = rate
        self.samples = 0

    def feed(self, samples):
        self.samples += len(samples)

    def finish(self):
        words = tuple(
            Word(SECRET_WORDS[i % len(SECRET_WORDS)], i * 0.5, i * 0.5 + 0.4, 0.9)
            for i in range(max(1, int(self.samples / self.rate)))
        )
        return Transcript(" ".join(w.word for w in words), words)


class LoggedEvents(list):
    """The events, also logged the way `reflect run` logs them."""

    def append(self, event):
        logging.getLogger("reflect.events").info("%s: %s", event.phase.value, event.detail)
        super().append(event)


@pytest.fixture
def umask_zero():
    old = os.umask(0)
    yield
    os.umask(old)


def test_everything_written_is_private_even_with_umask_zero(tmp_path, umask_zero):
    fake_device = FakeDevice(tmp_path)
    try:
        pack = tiny_pack(tmp_path / "packs")
        data = tmp_path / "data"
        fake_device.run([speech(1, RATE) + [fake_device.press], speech(1, RATE) + [ScriptedMicrophone.LOSE]], pack=pack)
        notes = fake_device.run([speech(1, RATE) + [fake_device.press], speech(1, RATE) + silence(8, RATE)], pack=pack)
        # a crash's leftovers, repaired by recovery
        writer = WavWriter(notes.folder.parent.parent / "sessions" / notes.folder.name / "07.wav", RATE)
        writer.write(speech(0.5, RATE)[0])
        os.close(writer._fd)
        recover(data, new_recognizer=fake_device.worker.new_recognizer, audio_format="opus")
        Archive(data).listing()
    finally:
        fake_device.close()
    assert len(session_records(data)) == 2
    assert private_modes(data) == []


def test_logs_never_contain_what_was_said(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake_device = FakeDevice(tmp_path, events=LoggedEvents())
    fake_device.worker.close()
    fake_device.worker = Worker(SecretRecognizer)
    try:
        pack = tiny_pack(tmp_path / "packs")
        notes = fake_device.run(
            [speech(2, RATE) + [fake_device.press], speech(2, RATE) + [ScriptedMicrophone.LOSE]], pack=pack
        )
        # an interrupted answer transcribed by recovery, and the archive reading it all back
        writer = WavWriter(notes.folder / "09.wav", RATE)
        for chunk in speech(2, RATE):
            writer.write(chunk)
        os.close(writer._fd)
        recover(tmp_path / "data", new_recognizer=SecretRecognizer, audio_format="opus")
        archive = Archive(tmp_path / "data")
        session = archive.load("latest")
        list(archive.replay(session))
        archive.search(["marmalade"])
    finally:
        fake_device.close()
    transcripts = [a["transcript"] for _, r in session_records(tmp_path / "data") for a in r["answers"]]
    assert sum(bool(t) for t in transcripts) == 3, "the secret words were heard and saved"
    assert all(any(w in t for w in SECRET_WORDS) for t in transcripts if t)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) >= 15
    for word in SECRET_WORDS:
        assert word not in logged
