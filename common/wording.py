"""How counts and long texts are said to a person: "1 session", "2 sessions", a long query cut short."""

QUOTED_MAX = 60
"""The most characters of someone's own text (a search query) said back to them."""


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` with its noun, singular for 1: "1 session", "2 sessions", "0 sessions"."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def quoted(text: str) -> str:
    """`text` as Python quotes it, cut to QUOTED_MAX characters with an ellipsis when longer."""
    return repr(text if len(text) <= QUOTED_MAX else text[: QUOTED_MAX - 1] + "…")
