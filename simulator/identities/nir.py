"""NIR rules (the 13-character number, its 2-digit key, how one is built) and trait formats.

Layout (13 characters): sex (1) · year (2) · month (2) · birth place (5: department 2 +
commune 3, ``2A``/``2B`` for Corsica, ``99`` + country code for people born abroad) ·
order number (3). NIA numbers share this layout; only their OID tells them apart.
"""
from __future__ import annotations

import re

#: 13 characters, digits except the department which may be ``2A``/``2B`` (Corsica).
NIR_PATTERN = re.compile(r"\d{5}(?:\d{2}|2[AB])\d{6}")
KEY_PATTERN = re.compile(r"\d{2}")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
COG_PATTERN = re.compile(r"\d{5}|2[AB]\d{3}")
#: An INS name or first name: upper-case A-Z words joined by space, hyphen, apostrophe.
NAME_PATTERN = re.compile(r"[A-Z]+(?:[ '-][A-Z]+)*")

#: Month code used by :func:`build_nir` when the birth month is unknown (``00``).
UNKNOWN_MONTH = "20"

_CORSICA_DIGITS = {"2A": "19", "2B": "18"}
_SEX_DIGITS = {"M": "1", "F": "2"}


def nir_key(number: str) -> str:
    """Return the 2-digit key of a 13-character NIR: ``97 - (N mod 97)``, zero-padded.

    ``N`` is the number read as an integer after the Corsica rule (department ``2A``
    read as ``19``, ``2B`` as ``18``). Raises ``ValueError`` on a malformed number.
    """
    if not isinstance(number, str) or not NIR_PATTERN.fullmatch(number):
        raise ValueError(f"not a 13-character NIR: {number!r}")
    department = _CORSICA_DIGITS.get(number[5:7], number[5:7])
    return "%02d" % (97 - int(number[:5] + department + number[7:]) % 97)


def is_valid_nir(number: str, key: str) -> bool:
    """True when ``number`` has the NIR layout and ``key`` is its 2-digit key."""
    if not isinstance(number, str) or not NIR_PATTERN.fullmatch(number):
        return False
    return isinstance(key, str) and key == nir_key(number)


def split_ins(ins15: str) -> tuple[str, str]:
    """Split a 15-character INS into ``(number, key)``; the key is not checked."""
    if not isinstance(ins15, str) or len(ins15) != 15:
        raise ValueError(f"an INS has 15 characters, got {ins15!r}")
    number, key = ins15[:13], ins15[13:]
    if not NIR_PATTERN.fullmatch(number) or not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not an INS (13-character NIR + 2-digit key): {ins15!r}")
    return number, key


def build_nir(sex: str, birth_date: str, birth_place: str, order: int) -> str:
    """Build the 13-character NIR of a person (without key).

    ``sex`` is ``M`` or ``F``; ``birth_date`` is ``YYYY-MM-DD`` and may be a lunar
    date: a month outside 01-12 (e.g. ``1950-00-00``) is coded :data:`UNKNOWN_MONTH`
    (``20``, the first of the 20-42 codes real NIRs use for unknown months); the day
    is not part of the NIR. ``birth_place`` is the 5-character COG, copied as is:
    ``2A004`` keeps ``2A``, and a foreign country COG ``99xxx`` is already ``99`` +
    the 3-digit country code. ``order`` is 1-999.
    """
    if sex not in _SEX_DIGITS:
        raise ValueError(f"sex must be M or F, got {sex!r}")
    if not isinstance(birth_date, str) or not DATE_PATTERN.fullmatch(birth_date):
        raise ValueError(f"birth date must be YYYY-MM-DD, got {birth_date!r}")
    if not isinstance(birth_place, str) or not COG_PATTERN.fullmatch(birth_place):
        raise ValueError(f"birth place must be a 5-character COG, got {birth_place!r}")
    if not 1 <= order <= 999:
        raise ValueError(f"order must be 1-999, got {order!r}")
    month = birth_date[5:7]
    if not "01" <= month <= "12":
        month = UNKNOWN_MONTH
    return f"{_SEX_DIGITS[sex]}{birth_date[2:4]}{month}{birth_place}{order:03d}"
