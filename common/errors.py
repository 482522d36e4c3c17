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


class SynthesisFailed(ReflectError, RuntimeError):
    """Speech synthesis produced no audio for a prompt."""


class SessionNotFound(ReflectError, LookupError):
    """No saved session matches the given name or prefix."""


class SessionAmbiguous(SessionNotFound):
    """A session prefix matches more than one saved session."""


class SessionDamaged(ReflectError, ValueError):
    """A saved session's session.json is unreadable, malformed or of an unknown version."""


class AudioCorrupt(ReflectError, ValueError):
    """An answer's audio file is missing, unreadable or shorter than its note says."""


class ExportRefused(ReflectError, ValueError):
    """An export was asked for in a place or format that would lose or mix up notes."""


class GpioUnavailable(ReflectError, RuntimeError):
    """The GPIO button could not be set up (no pin factory, pin busy)."""
