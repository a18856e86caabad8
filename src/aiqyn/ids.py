"""Kazakhstan's 12-digit identifiers: BIN (legal entities) and IIN (individuals).

Both end with a check digit: the weighted sum of the first 11 digits with weights 1..11, mod 11; when
that gives 10, the weights 3..11, 1, 2 are used; when that gives 10 again, the number is invalid.
A BIN starts with the year and month of registration (YYMM), then the entity type (4 resident legal
entity, 5 non-resident, 6 individual entrepreneur in joint form), then the kind of office (0 head
office, 1 branch, 2 representative office, 3 peasant farm). An IIN starts with the date of birth
(YYMMDD), then the century-and-sex digit (1-6).
"""

from __future__ import annotations

import datetime as dt

_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first11: str) -> int | None:
    """The check digit for 11 digits, or None when no valid check digit exists."""
    digits = [int(c) for c in first11]
    c = sum(d * w for d, w in zip(digits, _W1, strict=True)) % 11
    if c == 10:
        c = sum(d * w for d, w in zip(digits, _W2, strict=True)) % 11
        if c == 10:
            return None
    return c


def is_valid(number: str) -> bool:
    """Whether `number` is 12 digits with a correct check digit."""
    if len(number) != 12 or not number.isdigit():
        return False
    return check_digit(number[:11]) == int(number[11])


def make_bin(year: int, month: int, serial: int, entity_type: int = 4, office: int = 0) -> str | None:
    """A BIN registered in year/month with the given 5-digit serial; None if the serial has no check digit."""
    first = f"{year % 100:02d}{month:02d}{entity_type}{office}{serial % 100000:05d}"
    c = check_digit(first)
    return None if c is None else first + str(c)


def make_iin(birth: dt.date, male: bool, serial: int) -> str | None:
    """An IIN for a person born on `birth`; None if the serial has no check digit."""
    century = 0 if birth.year < 1900 else (1 if birth.year < 2000 else 2)
    digit = 1 + 2 * century + (0 if male else 1)
    first = f"{birth:%y%m%d}{digit}{serial % 10000:04d}"
    c = check_digit(first)
    return None if c is None else first + str(c)


def bin_registration(number: str) -> tuple[int, int] | None:
    """(year, month) of registration encoded in a BIN, assuming years 1990-2089."""
    if len(number) != 12 or not number.isdigit():
        return None
    yy, mm = int(number[:2]), int(number[2:4])
    if not 1 <= mm <= 12:
        return None
    return (1900 + yy if yy >= 90 else 2000 + yy), mm
