"""Every error Reflect raises on purpose (the CLI prints one line for each and exits 2), grouped by
what they concern, and the warnings for states that are degraded but still work."""


class ReflectError(Exception):
    """Root of Reflect's own errors: a problem the person can understand and fix."""


class SetupError(ReflectError):
    """Something the device is set up with: config, question packs, the speech model, the button."""


class AudioError(ReflectError):
    """Sound in or out: a microphone or speaker, speech synthesis."""


class StorageError(ReflectError):
    """The notes on disk: a session, its record or its audio, an export."""


class ReflectWarning(UserWarning):
    """Root of Reflect's warnings."""


class DegradedWarning(ReflectWarning):
    """Working, with less than was asked for: an LED without PWM, FLAC instead of Opus, no speaker to hear."""


class PackInvalid(SetupError, ValueError):
    """A question pack file is malformed or missing a field."""


class PackNotFound(SetupError, LookupError):
    """No pack with the requested id exists."""


class ConfigInvalid(SetupError, ValueError):
    """The configuration (file, environment or flag) has an unknown key or a bad value."""


class ModelMissing(SetupError, FileNotFoundError):
    """The Vosk model directory is absent or incomplete."""


class ModelInstallFailed(SetupError, RuntimeError):
    """Downloading, verifying or extracting a model failed; nothing was installed."""


class AudioDeviceMissing(AudioError, LookupError):
    """No audio device matches the configured name, or there is none at all."""


class AudioDeviceBusy(AudioError, BlockingIOError):
    """The audio device is open in another process (an ALSA hw: device admits one at a time)."""


class SynthesisFailed(AudioError, RuntimeError):
    """Speech synthesis produced no audio for a prompt."""


class SessionNotFound(StorageError, LookupError):
    """No saved session matches the given name or prefix."""


class SessionAmbiguous(SessionNotFound):
    """A session prefix matches more than one saved session."""


class SessionDamaged(StorageError, ValueError):
    """A saved session's session.json is unreadable, malformed or of an unknown version."""


class AudioCorrupt(StorageError, ValueError):
    """An answer's audio file is missing, unreadable or shorter than its note says."""


class ExportRefused(StorageError, ValueError):
    """An export was asked for in a place or format that would lose or mix up notes."""


class BackupRefused(StorageError, ValueError):
    """A backup or restore would write over something that differs from it, or a copy failed its check."""


class GpioUnavailable(SetupError, RuntimeError):
    """The GPIO button could not be set up (no pin factory, pin busy)."""


class NotesBusy(StorageError, BlockingIOError):
    """Another reflect process owns the data dir (the device, or a command that writes the notes); `holder` is
    its role ('' if unknown)."""

    def __init__(self, message: str, holder: str = ""):
        super().__init__(message)
        self.holder = holder


class ServiceUnreachable(SetupError, ConnectionError):
    """`reflect press` / `reflect hold` found no running service to reach."""


class ControlRefused(SetupError, PermissionError):
    """The running service refused a control request: an unknown word, or a user it does not serve."""


class KeyInvalid(SetupError, ValueError):
    """An age identity or recipient cannot be read, or an identity does not open the sealed notes."""


class SealedUnreadable(StorageError, ValueError):
    """A sealed file is damaged or cut short, so it cannot be opened even with the right identity."""


class ClockNotSet(SetupError, ValueError):
    """The clock could not be set: not a date, not root, or timedatectl refused."""


class DateInvalid(SetupError, ValueError):
    """A date given on the command line is not one (YYYY-MM-DD)."""
