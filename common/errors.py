"""Every error Reflect raises on purpose; the CLI prints one line for each and exits 2."""


class ReflectError(Exception):
    """Root of Reflect's own errors: a problem the person can understand and fix."""


class PackInvalid(ReflectError, ValueError):
    """A question pack file is malformed or missing a field."""


class PackNotFound(ReflectError, LookupError):
    """No pack with the requested id exists."""


class ConfigInvalid(ReflectError, ValueError):
    """The configuration (file, environment or flag) has an unknown key or a bad value."""


class ModelMissing(ReflectError, FileNotFoundError):
    """The Vosk model directory is absent or incomplete."""


class ModelInstallFailed(ReflectError, RuntimeError):
    """Downloading, verifying or extracting a model failed; nothing was installed."""


class AudioDeviceMissing(ReflectError, LookupError):
    """No audio device matches the configured name, or there is none at all."""


class MicrophoneLost(ReflectError, OSError):
    """The microphone stopped delivering audio in the middle of an answer."""


class SynthesisFailed(ReflectError, RuntimeError):
    """Speech synthesis produced no audio for a prompt."""


class DiskFull(ReflectError, OSError):
    """There is not enough free space to keep recording safely."""


class SessionNotFound(ReflectError, LookupError):
    """No saved session matches the given name or prefix."""
