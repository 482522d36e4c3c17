"""A date as the device says it: "The fourth of March." (with the year when it is not this year's)."""

from datetime import date, datetime

ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth twenty-first "
    "twenty-second twenty-third twenty-fourth twenty-fifth twenty-sixth twenty-seventh twenty-eighth "
    "twenty-ninth thirtieth thirty-first"
).split()
MONTHS = ("January February March April May June July August September October November December").split()


def date_in_words(at: datetime | date, today: date, trusted: bool = True) -> str:
    """ "The fourth of March", "The fourth of March 2025" in another year, "About ..." when the clock was not set."""
    day = at.date() if isinstance(at, datetime) else at
    words = f"the {ORDINALS[day.day - 1]} of {MONTHS[day.month - 1]}"
    if day.year != today.year:
        words += f" {day.year}"
    return f"About {words}" if not trusted else words[0].upper() + words[1:]
