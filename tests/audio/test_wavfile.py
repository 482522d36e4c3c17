"""The crash-safe WAV writer and the repair of a crashed part, checked on the header bytes themselves.

soundfile forgives a header that lies about its sizes, so these tests read the
44 header bytes with struct and compare them with the file's real length.
"""

import errno
import os
import stat
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import audio.wavfile as wavfile
from audio.wavfile import HEADER_BYTES, WavWriter, finalize_part, header_rate, wav_header
from common.files import is_disk_full
from tests.faults.support import descriptors_kept, fsynced, killed_part, open_under, small_tmpfs
from tests.skipping_clock import SkippingClock

RATE = 16000
HEADER = "<4sI4s4sIHHIIHH4sI"


def header_of(path: Path) -> dict:
    fields = struct.unpack(HEADER, path.read_bytes()[:HEADER_BYTES])
    names = (
        "riff",
        "riff_size",
        "wave",
        "fmt",
        "fmt_size",
        "format",
        "channels",
        "rate",
        "byte_rate",
        "block_align",
        "bits",
        "data",
        "data_size",
    )
    return dict(zip(names, fields))


def assert_header_true(path: Path, rate: int = RATE) -> int:
    """The header is ours, 16-bit mono PCM at `rate`, and its sizes match the file's length; returns the data bytes."""
    size = path.stat().st_size
    h = header_of(path)
    assert (h["riff"], h["wave"], h["fmt"], h["data"]) == (b"RIFF", b"WAVE", b"fmt ", b"data")
    assert (h["fmt_size"], h["format"], h["channels"], h["bits"], h["block_align"]) == (16, 1, 1, 16, 2)
    assert (h["rate"], h["byte_rate"]) == (rate, rate * 2)
    assert h["data_size"] == size - HEADER_BYTES, f"header claims {h['data_size']} data bytes in a {size}-byte file"
    assert h["riff_size"] == size - 8
    assert h["data_size"] % 2 == 0
    return h["data_size"]


def samples_of(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes()[HEADER_BYTES:], dtype="<i2")


def noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-32768, 32767, n, dtype=np.int16, endpoint=True)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the header --------------------------------------------------------------------------------


@given(rate=st.integers(1000, 384000), data_bytes=st.integers(0, (2**32 - 37) // 2).map(lambda n: n * 2))
@settings(max_examples=50, deadline=None)
def test_our_header_describes_16_bit_mono_pcm_and_reads_back_its_rate(rate, data_bytes):
    header = wav_header(rate, data_bytes)
    fields = struct.unpack(HEADER, header)
    assert len(header) == HEADER_BYTES
    assert fields == (b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data", data_bytes)
    assert header_rate(header) == rate
    assert header_rate(header + b"audio after it") == rate


@pytest.mark.parametrize("rate,expected", [(999, None), (1000, 1000), (384000, 384000), (384001, None), (0, None)])
def test_header_rate_accepts_only_plausible_rates(rate, expected):
    assert header_rate(wav_header(rate, 100)) == expected


@pytest.mark.parametrize(
    "field,value",
    [
        (0, b"RIFX"),
        (2, b"AVI "),
        (3, b"fmt\0"),
        (4, 18),
        (5, 3),
        (6, 2),
        (10, 8),
    ],
)
def test_header_rate_rejects_anything_but_our_own_format(field, value):
    fields = list(struct.unpack(HEADER, wav_header(RATE, 100)))
    fields[field] = value
    assert header_rate(struct.pack(HEADER, *fields)) is None


def test_header_rate_of_a_short_header_is_none():
    assert header_rate(wav_header(RATE, 0)[:43]) is None
    assert header_rate(b"") is None


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EDQUOT])
def test_a_full_disk_is_recognised_by_its_errno(code):
    assert is_disk_full(OSError(code, os.strerror(code)))


def test_other_errors_are_not_a_full_disk():
    assert not is_disk_full(OSError(errno.EIO, "I/O error"))
    assert not is_disk_full(PermissionError(errno.EACCES, "denied"))
    assert not is_disk_full(ValueError("no room"))


# -- WavWriter: the header is true after every sync and after finish ---------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 3000)),
        st.tuples(st.just("sync"), st.none()),
    ),
    max_size=12,
)


@given(ops=operations, keep=st.one_of(st.none(), st.integers(-5, 20000)))
@settings(max_examples=60, deadline=None)
def test_header_matches_the_data_after_every_sync_and_after_any_finish(tmp_path_factory, ops, keep):
    folder = tmp_path_factory.mktemp("wav")
    final = folder / "01.wav"
    writer = WavWriter(final, RATE, sync_every_s=3600)
    written = np.zeros(0, dtype=np.int16)
    for n, (op, count) in enumerate(ops):
        if op == "write":
            chunk = noise(count, n)
            writer.write(chunk)
            written = np.concatenate([written, chunk])
            assert writer.frames == len(written)
        else:
            writer.sync()
            assert assert_header_true(writer.part_path) == 2 * len(written)
            assert np.array_equal(samples_of(writer.part_path), written)
    result = writer.finish(keep)
    expected = written if keep is None else written[: max(0, keep)]
    assert not writer.part_path.exists()
    if len(expected) == 0:
        assert result is None and not final.exists()
        assert list(folder.iterdir()) == []
        return
    assert result == final
    assert assert_header_true(final) == 2 * len(expected)
    assert np.array_equal(samples_of(final), expected)
    assert writer.frames == len(expected)
    assert mode_of(final) == 0o600
    got, rate = sf.read(str(final), dtype="int16")
    assert rate == RATE and np.array_equal(got, expected)


def test_a_trimmed_finish_cuts_the_file_to_the_header_claim(tmp_path):
    """The real bug: a finish trimmed to 1 s of a 2 s answer left a header of 64,000 data bytes
    in a 32,044-byte file."""
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=3600)
    writer.write(noise(2 * RATE))
    writer.sync()
    path = writer.finish(keep_frames=RATE)
    assert path.stat().st_size == HEADER_BYTES + 2 * RATE
    assert assert_header_true(path) == 2 * RATE


@pytest.mark.parametrize("keep_frames", [0, -5])
def test_a_finish_trimmed_to_nothing_keeps_no_answer_and_no_part(tmp_path, keep_frames):
    """Trimmed to no audio at all (the speech ended before it began): nothing is kept, not even one sample."""
    writer = WavWriter(tmp_path / "01.wav", RATE)
    writer.write(noise(RATE // 10))
    assert writer.finish(keep_frames=keep_frames) is None
    assert list(tmp_path.iterdir()) == []


def test_a_fresh_part_is_a_playable_empty_wav(tmp_path):
    writer = WavWriter(tmp_path / "01.wav", RATE)
    assert writer.part_path == tmp_path / "01.wav.part"
    assert assert_header_true(writer.part_path) == 0
    assert (writer.frames, writer.data_bytes, writer.synced_bytes) == (0, 0, 0)
    writer.abandon()


def test_samples_are_written_as_little_endian_int16_whatever_their_dtype(tmp_path):
    writer = WavWriter(tmp_path / "01.wav", RATE)
    writer.write(np.array([1, -2, 300], dtype=np.int32))
    writer.write(np.array([-32768, 32767], dtype=">i2"))
    path = writer.finish()
    assert samples_of(path).tolist() == [1, -2, 300, -32768, 32767]


def test_every_byte_is_written_even_when_the_kernel_takes_a_few_at_a_time(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=3600)
    samples = noise(1001)
    writer.write(samples)
    path = writer.finish()
    assert assert_header_true(path) == 2002
    assert np.array_equal(samples_of(path), samples)


def test_the_part_is_private_even_if_a_stale_one_was_not(tmp_path):
    stale = tmp_path / "01.wav.part"
    stale.write_bytes(bytes(5000))
    stale.chmod(0o644)
    writer = WavWriter(tmp_path / "01.wav", RATE)
    assert mode_of(writer.part_path) == 0o600
    assert writer.part_path.stat().st_size == HEADER_BYTES, "a stale part's bytes never leak into a new answer"
    writer.abandon()


def test_writes_sync_the_header_once_a_second_has_passed_since_the_last_sync(tmp_path):
    clock = SkippingClock(start=100.0)
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=1.0, clock=clock)

    def header_frames():
        return header_of(writer.part_path)["data_size"] // 2

    clock.advance(0.5)  # 100.5
    writer.write(noise(10))
    assert (header_frames(), writer.synced_bytes) == (0, 0)
    clock.advance(0.5)  # 101.0
    writer.write(noise(10))
    assert (header_frames(), writer.synced_bytes) == (20, 40)
    clock.advance(0.7)  # 101.7
    writer.write(noise(10))
    assert header_frames() == 20
    writer.sync()  # a sync by hand restarts the second
    assert header_frames() == 30
    clock.advance(0.8)  # 102.5
    writer.write(noise(10))
    assert header_frames() == 30
    clock.advance(0.2)  # 102.7
    writer.write(noise(10))
    assert header_frames() == 50
    assert_header_true(writer.part_path)
    writer.abandon()


def test_the_default_interval_is_timed_from_when_a_sync_began_so_a_slow_fsync_adds_no_loss(tmp_path, monkeypatch):
    clock = SkippingClock(start=100.0)
    writer = WavWriter(tmp_path / "01.wav", RATE, clock=clock)
    real_fsync = os.fsync

    def slow_fsync(fd):
        clock.advance(0.3)  # as an SD card (or an emulated disk) may take
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    clock.advance(wavfile.SYNC_EVERY_S)
    writer.write(noise(10))  # a sync begins at 100.5 and ends at 100.8
    clock.advance(wavfile.SYNC_EVERY_S - 0.3 - 0.01)  # 100.99: not yet
    writer.write(noise(10))
    assert writer.synced_bytes == 20
    clock.advance(0.01)  # 101.0: half a second after the last sync began, though only 0.2 s after it ended
    writer.write(noise(10))
    assert writer.synced_bytes == 60
    assert wavfile.SYNC_EVERY_S == 0.5  # a power cut mid-answer loses at most about this (tests/twin/test_power_cuts)
    writer.abandon()


def test_abandon_removes_the_part_and_can_be_repeated_closing_only_its_own_file(tmp_path):
    writer = WavWriter(tmp_path / "01.wav", RATE)
    writer.write(noise(100))
    writer.abandon()
    assert (list(tmp_path.iterdir()), open_under(tmp_path)) == ([], [])
    with descriptors_kept():  # the second abandon closes nothing
        writer.abandon()


def test_a_writer_given_descriptor_0_still_closes_it(tmp_path):
    """A service started with stdin closed hands out descriptor 0 to the first file it opens."""
    saved = os.dup(0)
    os.close(0)
    try:
        writer = WavWriter(tmp_path / "01.wav", RATE)
        assert writer._fd == 0
        writer.write(noise(10))
        writer.abandon()
        with pytest.raises(OSError) as closed:
            os.fstat(0)
        assert closed.value.errno == errno.EBADF
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def test_abandon_after_finish_leaves_the_answer_alone(tmp_path):
    writer = WavWriter(tmp_path / "01.wav", RATE)
    writer.write(noise(100))
    path = writer.finish()
    writer.abandon()
    assert_header_true(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01.wav"]


def test_a_new_part_is_made_durable_in_the_answer_folder_before_any_audio(tmp_path, monkeypatch):
    """Its audio is synced about once a second; without the folder's entry a power cut could lose it all."""
    synced = fsynced(monkeypatch)
    writer = WavWriter(tmp_path / "01.wav", RATE)
    assert synced == [str(tmp_path)]
    writer.abandon()


def test_finish_makes_the_rename_durable_in_the_answer_folder(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(
        wavfile, "fsync_dir", lambda path: synced.append((path, sorted(p.name for p in path.iterdir())))
    )
    writer = WavWriter(tmp_path / "01.wav", RATE)
    writer.write(noise(100))
    writer.finish()
    assert synced == [(tmp_path, ["01.wav.part"]), (tmp_path, ["01.wav"])]


# -- WavWriter on a full disk --------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 64 kB tmpfs."""
    with small_tmpfs(tmp_path / "disk", "64k") as mount:
        yield mount


@pytest.mark.root
def test_a_full_disk_mid_write_keeps_every_sample_written_whole(tiny_disk):
    writer = WavWriter(tiny_disk / "01.wav", RATE, sync_every_s=3600)
    kept = np.zeros(0, dtype=np.int16)
    with pytest.raises(OSError) as raised:
        for n in range(100):
            chunk = noise(1001, n)  # an odd byte count past a page: the disk fills mid-chunk
            writer.write(chunk)
            kept = np.concatenate([kept, chunk])
    assert is_disk_full(raised.value)
    assert writer.part_path.stat().st_size > HEADER_BYTES + 2 * len(kept), "part of the last chunk reached the file"
    path = writer.finish()
    assert assert_header_true(path) == 2 * len(kept)
    assert np.array_equal(samples_of(path), kept)


@pytest.mark.root
def test_a_writer_that_cannot_even_write_its_header_leaves_no_part(tiny_disk):
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError):
            while True:
                os.write(fd, bytes(4096))
    finally:
        os.close(fd)
    with pytest.raises(OSError) as raised:
        WavWriter(tiny_disk / "01.wav", RATE)
    assert is_disk_full(raised.value)
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]


def failing_fsync(monkeypatch, *codes):
    """os.fsync fails with each of `codes` in turn (a full disk shows itself there on many filesystems), then works."""
    real = os.fsync
    pending = list(codes)

    def fsync(fd):
        if pending:
            code = pending.pop(0)
            raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_when_finalizing_finds_the_disk_full_the_answer_keeps_what_was_synced(tmp_path, monkeypatch, caplog):
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=3600)
    synced = noise(RATE, 1)
    writer.write(synced)
    writer.sync()
    writer.write(noise(RATE, 2))
    failing_fsync(monkeypatch, errno.ENOSPC)
    path = writer.finish()
    assert [r.getMessage() for r in caplog.records] == [
        "disk full while finalizing 01.wav.part; keeping the last synced audio"
    ]
    assert path == tmp_path / "01.wav" and not writer.part_path.exists()
    assert assert_header_true(path) == 2 * RATE
    assert np.array_equal(samples_of(path), synced)


def test_a_disk_full_finalize_never_keeps_more_than_the_trim_asked_for(tmp_path, monkeypatch):
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=3600)
    samples = noise(RATE, 1)
    writer.write(samples)
    writer.sync()
    failing_fsync(monkeypatch, errno.EFBIG)
    path = writer.finish(keep_frames=100)
    assert assert_header_true(path) == 200
    assert np.array_equal(samples_of(path), samples[:100])


def test_a_disk_full_finalize_with_nothing_synced_keeps_no_answer(tmp_path, monkeypatch):
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=3600)
    writer.write(noise(RATE))
    failing_fsync(monkeypatch, errno.ENOSPC)
    assert writer.finish() is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("codes", [(errno.EIO,), (errno.ENOSPC, errno.ENOSPC)])
def test_a_finalize_that_fails_for_good_leaves_the_part_for_recovery(tmp_path, monkeypatch, codes):
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=3600)
    samples = noise(RATE)
    writer.write(samples)
    failing_fsync(monkeypatch, *codes)
    with pytest.raises(OSError) as raised:
        writer.finish()
    assert raised.value.errno == codes[-1]
    assert not (tmp_path / "01.wav").exists() and writer.part_path.exists()
    with descriptors_kept():  # the descriptor was already closed: abandon closes nothing else
        writer.abandon()
    assert not writer.part_path.exists()


# -- finalize_part: repairing what a crash left ---------------------------------------------------


def crashed_part(folder: Path, samples: np.ndarray, synced: int = 0, rate: int = RATE) -> Path:
    """A part as a kill leaves it in `folder`: everything written, the header synced only up to `synced` samples."""
    return killed_part(folder / "01.wav", samples, rate, synced)


OLD = 1_700_000_000_000_000_000


@given(
    header=st.one_of(
        st.sampled_from([8000, 16000, 44100]).map(lambda r: wav_header(r, 0)),
        st.sampled_from([8000, 48000]).map(lambda r: wav_header(r, 123456)),
        st.binary(min_size=0, max_size=HEADER_BYTES),
    ),
    body=st.binary(max_size=600),
)
@settings(max_examples=80, deadline=None)
def test_finalize_part_repairs_any_crashed_part_into_a_true_wav(tmp_path_factory, header, body):
    folder = tmp_path_factory.mktemp("finalize")
    part, final = folder / "01.wav.part", folder / "01.wav"
    part.write_bytes(header + body)
    part.chmod(0o644)
    os.utime(part, ns=(OLD + 5, OLD))
    own_rate = header_rate(header + body)
    frames = finalize_part(part, final, fallback_rate=RATE)
    audio = (header + body)[HEADER_BYTES:]
    whole = len(audio) // 2 * 2
    assert not part.exists()
    if whole == 0:
        assert frames is None and list(folder.iterdir()) == []
        return
    assert frames == whole // 2
    assert assert_header_true(final, own_rate or RATE) == whole
    assert final.read_bytes()[HEADER_BYTES:] == audio[:whole]
    assert mode_of(final) == 0o600
    assert final.stat().st_mtime_ns == OLD, "the answer keeps the time the person last spoke"


def test_finalize_part_keeps_every_sample_of_a_part_killed_between_syncs(tmp_path):
    samples = noise(RATE + 333)
    part = crashed_part(tmp_path, samples, synced=RATE)
    with open(part, "ab") as f:
        f.write(b"\x01")  # half a sample
    assert finalize_part(part, tmp_path / "01.wav", fallback_rate=8000) == len(samples)
    assert assert_header_true(tmp_path / "01.wav") == 2 * len(samples)
    assert np.array_equal(samples_of(tmp_path / "01.wav"), samples)


def test_finalize_part_keeps_the_rate_the_part_was_recorded_at(tmp_path):
    part = crashed_part(tmp_path, noise(800), rate=8000)
    finalize_part(part, tmp_path / "01.wav", fallback_rate=RATE)
    assert_header_true(tmp_path / "01.wav", 8000)


@pytest.mark.parametrize("content", [b"", wav_header(RATE, 0), wav_header(RATE, 0) + b"\x07", b"RIFF"])
def test_finalize_part_removes_a_part_with_no_whole_sample(tmp_path, content, monkeypatch):
    synced = []
    monkeypatch.setattr(wavfile, "fsync_dir", synced.append)
    part = tmp_path / "01.wav.part"
    part.write_bytes(content)
    assert finalize_part(part, tmp_path / "01.wav", RATE) is None
    assert list(tmp_path.iterdir()) == []
    assert synced == [tmp_path]


def test_finalize_part_makes_the_rename_durable(tmp_path, monkeypatch):
    part = crashed_part(tmp_path, noise(100))
    synced = []
    monkeypatch.setattr(
        wavfile, "fsync_dir", lambda path: synced.append((path, sorted(p.name for p in path.iterdir())))
    )
    finalize_part(part, tmp_path / "01.wav", RATE)
    assert synced == [(tmp_path, ["01.wav"])]


def test_finalize_part_interrupted_before_its_rename_finalizes_the_same_way_again(tmp_path, monkeypatch):
    samples = noise(5001)
    for name in ("once", "twice"):
        (tmp_path / name).mkdir()
        part = crashed_part(tmp_path / name, samples, synced=2000)
        with open(part, "ab") as f:
            f.write(b"\x09")
        os.utime(part, ns=(OLD, OLD))
    once = tmp_path / "once"
    finalize_part(once / "01.wav.part", once / "01.wav", RATE)

    twice = tmp_path / "twice"
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "power cut")))
    with pytest.raises(OSError):
        finalize_part(twice / "01.wav.part", twice / "01.wav", RATE)
    monkeypatch.setattr(os, "replace", real_replace)
    assert finalize_part(twice / "01.wav.part", twice / "01.wav", RATE) == len(samples)
    assert (twice / "01.wav").read_bytes() == (once / "01.wav").read_bytes()
    assert (twice / "01.wav").stat().st_mtime_ns == (once / "01.wav").stat().st_mtime_ns == OLD


def test_finalizing_a_finalized_answer_again_changes_nothing(tmp_path):
    part = crashed_part(tmp_path, noise(3001), synced=1000)
    final = tmp_path / "01.wav"
    finalize_part(part, final, RATE)
    before, mtime = final.read_bytes(), final.stat().st_mtime_ns
    os.replace(final, part)
    assert finalize_part(part, final, RATE) == 3001
    assert final.read_bytes() == before and final.stat().st_mtime_ns == mtime
