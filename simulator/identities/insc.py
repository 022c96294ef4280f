"""The INS-C (INS calculé) of an identity: the 22-digit patient identifier of DMP API v1
(OID 1.2.250.1.213.1.4.2, DMP brief §3.1), computed from the Vitale card data.

The real INS-C is computed by the ASIP "INS-C calculé" algorithm from the ouvrant-droit
NIR, the first first name and the birth date. That algorithm is not reproduced here:
the simulator has its own deterministic derivation, so an INS-C it hands out has the
real shape but not the real value.

Derivation (the simulator's): the three inputs are normalised (ouvrant-droit matricule:
13 characters, upper case; first name: upper-case A-Z only, accents, spaces, hyphens and
apostrophes dropped; birth date: its 8 digits, lunar dates kept as they are), joined as
``OD|FIRSTNAME|YYYYMMDD``, hashed with SHA-256; the digest read as an integer modulo
10^20 gives the 20-digit body, followed by its 2-digit key ``97 - (body mod 97)``.
Nothing else enters the hash, so the same person gets the same INS-C in every run,
seed and process. As with the real INS-C, two people with the same Vitale data (same
ouvrant-droit, first name and birth date) would share one.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

from .model import Identity

OID_INS_C = "1.2.250.1.213.1.4.2"
INSC_PATTERN = re.compile(r"\d{22}")
_BODY_MODULUS = 10 ** 20
_LETTERS = re.compile(r"[^A-Z]")


def insc_key(body: str) -> str:
    """The 2-digit key of a 20-digit INS-C body: ``97 - (body mod 97)``, zero-padded."""
    return "%02d" % (97 - int(body) % 97)


def is_valid_insc(insc: str) -> bool:
    """22 digits whose last two are the key of the first twenty."""
    return isinstance(insc, str) and bool(INSC_PATTERN.fullmatch(insc)) \
        and insc[20:] == insc_key(insc[:20])


def _first_name_letters(first_name: str) -> str:
    text = unicodedata.normalize("NFKD", first_name.replace("Œ", "OE").replace("œ", "oe")
                                 .replace("Æ", "AE").replace("æ", "ae"))
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    return _LETTERS.sub("", text)


def compute_insc(od_number: str, first_name: str, birth_date: str) -> str:
    """The simulator's INS-C of (ouvrant-droit matricule, first first name, birth date
    ``YYYY-MM-DD``, possibly lunar). See the module docstring for the derivation."""
    od = od_number.strip().upper()[:13]
    digits = "".join(c for c in birth_date if c.isdigit())
    material = f"{od}|{_first_name_letters(first_name)}|{digits}".encode("utf-8")
    body = "%020d" % (int.from_bytes(hashlib.sha256(material).digest(), "big")
                      % _BODY_MODULUS)
    return body + insc_key(body)


def insc_of(identity: Identity) -> str:
    """The INS-C of an identity, from its Vitale data: the ouvrant-droit matricule and
    the first first name and birth date the CNAM knows (``cnam_traits`` when they differ
    from the RNIPP's), as the card a v1 client read the INS-C from carries them."""
    first_names = identity.cnam_trait("first_names")
    return compute_insc(identity.ouvrant_droit, first_names[0] if first_names else "",
                        identity.cnam_trait("birth_date"))
