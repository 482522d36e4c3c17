"""Builds the real device from the config: speaker, microphone, prompts, recognizer, session settings."""

import logging
import sys
import threading

from audio import tones
from audio.answer_capture import CaptureSettings
from audio.endpointing import EndpointSettings
from audio.microphone import SoundDeviceMicrophone
from audio.microphone_watch import MicrophoneWatch, RecoveringSpeaker
from audio.recognizer import ModelLoader, check_model
from audio.speaker import SoundDeviceSpeaker
from audio.synthesis import PromptCache
from audio.voice_activity import DetectorSettings
from audio.worker import Worker
from content.packs import Pack
from content.phrases import PHRASES
from device.config import MB, Config
from device.flow.inbox import Inbox
from device.flow.parts import SessionParts
from device.flow.service import Device
from device.flow.session import SessionSettings
from device.notes.recovery import recover_at_start
from device.notes.sealing import sealer
from device.setup.config_checks import checked_pack

log = logging.getLogger(__name__)

GIL_SWITCH_INTERVAL_S = 0.0005
"""How long one Python thread may hold the GIL while another waits (CPython's default is 5 ms). The PortAudio
callback and the flow thread must not wait that long behind a busy thread: a press would be answered late and
the speaker would underrun."""


def session_settings(config: Config) -> SessionSettings:
    listening = config.listening
    return SessionSettings(
        endpoint=EndpointSettings(listening.silence_after_speech_s, listening.no_speech_s, listening.max_answer_s),
        capture=CaptureSettings(),
        detector=DetectorSettings(margin_db=config.audio.speech_margin_db),
        min_free_bytes=config.storage.min_free_mb * MB,
        audio_format=config.storage.audio_format,
        clock_trust=config.clock.trust,
        look_back=config.reflection.look_back,
    )


def load_pack(config: Config) -> Pack:
    """The configured pack; a config problem (pack, packs folder, pins) is a one-line error first."""
    return checked_pack(config)


def prompt_cache(config: Config, pack: Pack) -> PromptCache:
    """The prompt cache for this pack's voice, already rendering every prompt in the background."""
    cache = PromptCache(
        config.cache_dir / "prompts", config.speech.voice or pack.voice, config.speech.rate or pack.rate
    )
    texts = pack.prompts + PHRASES.all()
    threading.Thread(target=_render_quietly, args=(cache, texts), name="prompt-render", daemon=True).start()
    return cache


def _render_quietly(cache: PromptCache, texts) -> None:
    try:
        cache.render_all(texts)
    except Exception as error:  # the session renders (and reports) any prompt still missing
        log.error("could not render the prompts ahead of time: %s", error)


def open_speaker(config: Config, without: str | None = None) -> RecoveringSpeaker:
    """The configured speaker, reopened when it comes back; silent (sessions still record) while there is none,
    which is said once (`without`: what that means)."""
    return RecoveringSpeaker(
        lambda: SoundDeviceSpeaker(config.audio.output_device, config.audio.output_rate), without=without
    )


def microphone_opener(config: Config):
    audio = config.audio
    return lambda: SoundDeviceMicrophone(audio.input_device, audio.input_rate, audio.chunk_s)


def build_device(config: Config, speaker=None, open_microphone=None, without_speaker: str | None = None) -> Device:
    """Check the model and pack, repair what a crash left, then load the model and render prompts in the background.

    `without_speaker` is what going on without a speaker means, if there is none (see `open_speaker`)."""
    pack = load_pack(config)
    check_model(config.model_path)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    model = ModelLoader(config.model_path).start()  # in the background now, so a press never waits for it
    speaker = speaker or open_speaker(config, without_speaker)
    tones.prepare(speaker.rate)
    parts = SessionParts(
        speaker=speaker,
        open_microphone=open_microphone
        or MicrophoneWatch(microphone_opener(config), before_rescan=getattr(speaker, "release", lambda: None)),
        prompts=prompt_cache(config, pack),
        worker=Worker.for_model(model),
        inbox=Inbox(),
        seal=sealer(config.data_dir, config.privacy.recipient, config.privacy.readable_for_h, config.clock.trust),
    )
    recover_at_start(config.data_dir, parts.worker, model, audio_format=config.storage.audio_format)
    parts.worker.later(parts.seal)  # after recovery's transcripts and compression
    return Device(pack, parts, session_settings(config), model)
