"""Devices as a Raspberry Pi's PortAudio (ALSA, no sound server) lists them: named by a part of the name, a
whole name or an ALSA name, opened at a rate they accept, and a busy one told apart."""

import logging

import pytest

from audio.devices import find_device, is_busy, pick_rate
from audio.fakes import FakePortAudio
from audio.fakes import portaudio_device as device
from audio.microphone import SoundDeviceMicrophone
from common.errors import AudioDeviceBusy, AudioDeviceMissing

PI_USB_MIC = [  # Pi OS Lite, headphone jack and a USB microphone; what `python -m sounddevice` shows there
    device(0, "bcm2835 Headphones: - (hw:0,0)", 0, 8),
    device(1, "USB PnP Sound Device: Audio (hw:1,0)", 1, 0, 48000.0),
    device(2, "sysdefault", 0, 128),
    device(3, "dmix", 0, 2),
    device(4, "dsnoop", 2, 0),
    device(5, "default", 1, 128),
]
LOOPBACK = [  # the Pi twin: snd-aloop as card 2 (and a second one as card 3, id Spk)
    device(0, "Loopback: PCM (hw:2,0)", 32, 32),
    device(1, "Loopback: PCM (hw:2,1)", 32, 32),
    device(2, "Loopback: PCM (hw:3,0)", 1, 1),
    device(3, "default", 32, 32),
]
PLUGHW = [device(0, "USB PnP Sound Device: Audio (plughw:1,0)", 1, 0)]  # PortAudio under PA_ALSA_PLUGHW=1


@pytest.fixture
def asound(tmp_path):
    """/proc/asound as the kernel makes it: each card's id links to its number."""
    for card_id, number in (("Headphones", 0), ("Device", 1), ("Loopback", 2), ("Spk", 3)):
        (tmp_path / f"card{number}").mkdir()
        (tmp_path / card_id).symlink_to(f"card{number}")
    return tmp_path


@pytest.mark.parametrize(
    "devices, name, kind, index",
    [
        (PI_USB_MIC, "hw:1,0", "input", 1),
        (PI_USB_MIC, "hw:1", "input", 1),
        (PI_USB_MIC, "hw:CARD=Device,DEV=0", "input", 1),
        (PI_USB_MIC, "hw:Device,0", "input", 1),
        (PI_USB_MIC, "hw:0,0", "output", 0),
        (PI_USB_MIC, "hw:CARD=Headphones,DEV=0", "output", 0),
        (PI_USB_MIC, "bcm2835", "output", 0),
        (PI_USB_MIC, "USB", "input", 1),
        (PI_USB_MIC, "dsnoop", "input", 4),
        (PI_USB_MIC, "dmix", "output", 3),
        (PI_USB_MIC, "default", "output", 5),  # the whole name, not "sysdefault" listed before it
        (LOOPBACK, "hw:2,1", "input", 1),
        (LOOPBACK, "hw:Loopback,1,0", "input", 1),  # card, device, subdevice
        (LOOPBACK, "hw:Loopback,0", "output", 0),
        (LOOPBACK, "hw:CARD=Spk,DEV=0", "output", 2),
        (LOOPBACK, "hw:3,0", "input", 2),
        (PLUGHW, "plughw:1,0", "input", 0),
        (PLUGHW, "plughw:CARD=Device,DEV=0", "input", 0),
    ],
)
def test_a_device_is_found_by_its_alsa_name_or_its_name(asound, devices, name, kind, index):
    assert find_device(name, kind, FakePortAudio(devices), asound) == index


def test_a_card_named_as_portaudio_lists_it_needs_no_proc_asound(tmp_path):
    assert find_device("hw:Loopback,1", "input", FakePortAudio(LOOPBACK), tmp_path / "none") == 1


@pytest.mark.parametrize(
    "devices, name, kind, said",
    [
        (PI_USB_MIC, "hw:1,0", "output", "No speaker is ALSA's 'hw:1,0'"),  # a microphone only
        (PI_USB_MIC, "hw:4,0", "input", "No microphone is ALSA's 'hw:4,0'"),
        (PI_USB_MIC, "hw:CARD=Nothing,DEV=0", "input", "No microphone is ALSA's 'hw:CARD=Nothing,DEV=0'"),
        (LOOPBACK, "hw:2,2", "input", "(available: 'Loopback: PCM (hw:2,0)'"),
        (PI_USB_MIC, "plughw:1,0", "input", "PA_ALSA_PLUGHW=1"),
        (PI_USB_MIC, "speex", "input", "No microphone matches 'speex'"),
    ],
)
def test_a_name_that_names_no_usable_device_is_one_line_with_the_choices(asound, devices, name, kind, said):
    with pytest.raises(AudioDeviceMissing) as raised:
        find_device(name, kind, FakePortAudio(devices), asound)
    assert said in str(raised.value) and "\n" not in str(raised.value)


def test_hw_2_0_does_not_match_card_12():
    devices = [device(0, "Other: PCM (hw:12,0)", 1, 0), device(1, "Mic: PCM (hw:2,0)", 1, 0)]
    assert find_device("hw:2,0", "input", FakePortAudio(devices)) == 1
    assert find_device("hw:12,0", "input", FakePortAudio(devices)) == 0


def test_no_name_is_the_default_device_or_the_first_usable_one():
    assert find_device("", "input", FakePortAudio(PI_USB_MIC, default=(5, 0))) == 5
    assert find_device("", "input", FakePortAudio(PI_USB_MIC)) == 1
    with pytest.raises(AudioDeviceMissing):
        find_device("", "input", FakePortAudio(PI_USB_MIC[:1]))


def test_the_devices_own_default_rate_is_used_when_it_accepts_it(caplog):
    portaudio = FakePortAudio(PI_USB_MIC, refuses={16000})
    assert pick_rate(1, "input", 0, "int16", portaudio) == 48000
    assert pick_rate(0, "output", 0, "float32", portaudio) == 44100
    assert portaudio.checked == [48000, 44100] and not caplog.records


def test_a_refused_default_rate_falls_back_to_48000_then_44100_with_one_log_line(caplog):
    caplog.set_level(logging.WARNING)
    portaudio = FakePortAudio(LOOPBACK, refuses={44100})  # the loopback: default 44.1 kHz, locked to 48 kHz
    assert pick_rate(1, "input", 0, "int16", portaudio) == 48000
    assert [r.getMessage() for r in caplog.records] == [
        "the microphone refuses 44100 Hz (Invalid sample rate [PaErrorCode -9997]); using 48000 Hz"
    ]
    caplog.clear()
    assert pick_rate(1, "input", 16000, "int16", FakePortAudio(LOOPBACK, refuses={16000, 48000})) == 44100
    assert len(caplog.records) == 1 and "refuses 16000 Hz" in caplog.records[0].getMessage()


def test_a_configured_rate_the_device_accepts_is_kept():
    assert pick_rate(1, "input", 16000, "int16", FakePortAudio(PI_USB_MIC)) == 16000


def test_a_device_that_accepts_no_rate_is_one_line():
    with pytest.raises(AudioDeviceMissing, match="accepts none of 22050, 48000, 44100 Hz"):
        pick_rate(1, "input", 22050, "int16", FakePortAudio(PI_USB_MIC, refuses={22050, 48000, 44100}))


def test_a_busy_device_is_busy_not_a_refused_rate():
    portaudio = FakePortAudio(PI_USB_MIC, busy=True)
    with pytest.raises(AudioDeviceBusy, match="in use by another program"):
        pick_rate(1, "input", 0, "int16", portaudio)
    assert portaudio.checked == [48000]  # no other rate is tried on a device that is not free


@pytest.mark.parametrize(
    "message, busy",
    [
        ("Error opening InputStream: Device unavailable [PaErrorCode -9985]", True),
        ("Error querying device: Device or resource busy", True),
        ("Error opening InputStream: Invalid sample rate [PaErrorCode -9997]", False),
        ("Error querying device -1", False),
    ],
)
def test_busy_is_told_from_portaudio_s_message(message, busy):
    assert is_busy(Exception(message)) is busy


def test_the_microphone_opens_a_44100_hz_device_that_refuses_16000_at_44100():
    """audio.input_rate = 0 on a USB microphone whose default is 44.1 kHz: the stream and the recognizer get 44100."""
    usb = [device(0, "USB Audio Device: - (hw:1,0)", 1, 0, 44100.0)]
    microphone = SoundDeviceMicrophone("hw:1,0", 0, 0.1, portaudio=FakePortAudio(usb, refuses={16000}))
    assert (microphone.index, microphone.rate, microphone.chunk_frames) == (0, 44100, 4410)
