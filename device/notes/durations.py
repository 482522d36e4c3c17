"""Durations as people read them: m:ss."""


def clock(seconds: float, tenths: bool = False) -> str:
    """Seconds as m:ss (or h:mm:ss), or m:ss.s with `tenths`."""
    if tenths:
        rounded = round(seconds, 1)
        return f"{int(rounded // 60)}:{rounded % 60:04.1f}"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
