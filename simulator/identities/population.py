"""Deterministic synthetic population of French identities for the simulated bases.

:func:`generate_population` draws realistic identities and mixes in, in fixed
proportions, the cases an INSi client must cope with: homonyms, twins, NIA
matricules, matricule history, RNIPP/document discrepancies and lunar birth dates;
then a share of ordinary persons gets a CNAM (Vitale) identity that differs from the
RNIPP one, as TD0.0 returns it.
"""
from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import replace
from datetime import date, timedelta

from faker import Faker

from . import places
from .model import OID_INS_NIA, OID_INS_NIR, Identity, Matricule
from .nir import build_nir, nir_key

REFERENCE_DATE = date(2026, 1, 1)
FIRST_BIRTH = date(1925, 1, 1)
LAST_BIRTH = date(2025, 12, 31)
#: Born after this date = under 16 on REFERENCE_DATE: on a parent's Vitale card.
MINOR_AFTER = "2010-01-01"

#: Share of identities per single-identity case, of homonym pairs and of twin
#: families (a parent and two twins), rounded down.
SHARES = {"nia": 0.02, "history": 0.03, "discrepancy": 0.05, "lunar": 0.005}
HOMONYM_PAIRS = 0.01
TWIN_FAMILIES = 0.005
#: Share of identities, taken among those with no other special case, whose CNAM
#: identity differs (drawn after everything else: the rest of a population is
#: the same as before this case existed).
CNAM_DISCREPANCY = 0.02

_TRANSLIT = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss",
                           "’": "'", "‘": "'", "ʼ": "'"})
_APOSTROPHE_NAMES = ("D'ALMEIDA", "N'DIAYE", "D'AMICO", "D'ANGELO", "N'GUESSAN")
_COMPOSITE_HEADS = {"M": ("JEAN", "PIERRE", "PAUL", "LOUIS"), "F": ("MARIE", "ANNE")}
_SPELLING_VARIANTS = (("PH", "F"), ("TH", "T"), ("Y", "I"), ("LL", "L"), ("NN", "N"),
                      ("I", "Y"), ("C", "K"))


def normalize_name(text: str) -> str:
    """Upper-case ASCII form of a name as the RNIPP stores it.

    Accents are dropped (É->E, Ç->C), Œ->OE, Æ->AE, typographic apostrophes become
    ``'``; any other character outside A-Z, space, hyphen, apostrophe becomes a space.
    """
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    return " ".join(re.sub(r"[^A-Z' -]", " ", text).split())


def generate_population(seed: int, size: int) -> list[Identity]:
    """Return ``size`` identities, identical for identical ``(seed, size)``.

    Keys are ``gen-000000``, ``gen-000001``…; ``notes`` names the special case
    (``homonym of gen-…``, ``twin of gen-…``, ``nia``, ``history``, ``discrepancy``,
    ``lunar-date``, ``cnam-discrepancy: <kind>``). Ages are taken at 2026-01-01;
    people under 16 carry a parent's matricule as ouvrant-droit.
    """
    return _Generator(seed).run(size)


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.used: set[str] = set()
        self.out: list[Identity] = []

    def run(self, size: int) -> list[Identity]:
        blocks = [("homonyms", 2)] * int(size * HOMONYM_PAIRS)
        blocks += [("twins", 3)] * int(size * TWIN_FAMILIES)
        for kind, share in SHARES.items():
            blocks += [(kind, 1)] * int(size * share)
        blocks += [("plain", 1)] * (size - sum(n for _, n in blocks))
        self.rng.shuffle(blocks)
        for kind, _ in blocks:
            getattr(self, "add_" + kind)()
        self.attach_parents()
        self.add_cnam_discrepancies(int(size * CNAM_DISCREPANCY))
        return self.out

    # --- random traits -------------------------------------------------------
    def day(self, start: date = FIRST_BIRTH, end: date = LAST_BIRTH) -> date:
        return date.fromordinal(self.rng.randint(start.toordinal(), end.toordinal()))

    def place(self) -> str:
        draw = self.rng.random()
        for pool, weight in places.PLACE_WEIGHTS:
            draw -= weight
            if draw < 0:
                break
        return self.rng.choice(pool)

    def birth_name(self) -> str:
        if self.rng.random() < 0.01:
            return self.rng.choice(_APOSTROPHE_NAMES)
        return normalize_name(self.fake.last_name())

    def first_names(self, sex: str) -> tuple[str, ...]:
        draw = self.fake.first_name_male if sex == "M" else self.fake.first_name_female
        count = self.rng.choices((1, 2, 3), (50, 35, 15))[0]
        names: list[str] = []
        while len(names) < count:
            name = normalize_name(draw())
            if name not in names:
                names.append(name)
        if self.rng.random() < 0.12:
            head = self.rng.choice(_COMPOSITE_HEADS[sex])
            if head != names[0]:
                names[0] = f"{head}-{names[0]}"
        return tuple(names)

    def matricule(self, sex: str, born: str, place: str, oid: str = OID_INS_NIR,
                  **dates) -> Matricule:
        while True:
            number = build_nir(sex, born, place, self.rng.randint(1, 999))
            if number not in self.used:
                self.used.add(number)
                return Matricule(number, nir_key(number), oid, **dates)

    def person(self, sex=None, born=None, place=None, birth_name=None, first_names=None,
               oid=OID_INS_NIR, **extra) -> Identity:
        sex = sex or self.rng.choice("MF")
        born = born or self.day().isoformat()
        place = place or self.place()
        identity = Identity(
            key=f"gen-{len(self.out):06d}",
            birth_name=birth_name or self.birth_name(),
            first_names=first_names or self.first_names(sex),
            sex=sex, birth_date=born, birth_place=place,
            active=self.matricule(sex, born, place, oid), **extra)
        self.out.append(identity)
        return identity

    # --- cases ---------------------------------------------------------------
    def add_plain(self) -> None:
        self.person()

    def add_nia(self) -> None:
        # NIAs are given to people waiting for a NIR, mostly born abroad.
        self.person(place=self.rng.choice(places.ABROAD), oid=OID_INS_NIA, notes="nia")

    def add_lunar(self) -> None:
        year, month = self.rng.randint(1925, 2005), self.rng.randint(1, 12)
        born = f"{year}-00-00" if self.rng.random() < 0.7 else f"{year}-{month:02d}-00"
        self.person(born=born, place=self.rng.choice(places.ABROAD), notes="lunar-date")

    def add_history(self) -> None:
        person = self.person(notes="history")
        born = date.fromisoformat(person.birth_date)
        low = max(born + timedelta(days=30), date(2000, 1, 1))
        changed = self.day(min(low, LAST_BIRTH), LAST_BIRTH)
        dates = {"start": person.birth_date, "end": changed.isoformat()}
        number = person.active.number
        flipped = {"1": "2", "2": "1"}[number[0]] + number[1:]
        if self.rng.random() < 0.5 and flipped not in self.used:  # change of sex
            self.used.add(flipped)
            old = Matricule(flipped, nir_key(flipped), OID_INS_NIR, **dates)
        else:  # a whole different matricule (e.g. a former NIA or duplicate)
            old = self.matricule(person.sex, person.birth_date, person.birth_place, **dates)
        self.out[-1] = replace(person, history=(old,))

    def add_discrepancy(self) -> None:
        person = self.person(notes="discrepancy")
        if self.rng.random() < 0.5:
            traits = {"first_names": self.misspelled(person.first_names)}
        else:
            day = int(person.birth_date[8:])
            delta = self.rng.choice((-2, -1, 1, 2))
            other = day + delta if 1 <= day + delta <= 28 else day - delta
            traits = {"birth_date": f"{person.birth_date[:8]}{other:02d}"}
        self.out[-1] = replace(person, document_traits=traits)

    def misspelled(self, names: tuple[str, ...]) -> tuple[str, ...]:
        first, rest = names[0], names[1:]
        if "-" in first:  # JEAN-PIERRE written as two first names
            return tuple(first.split("-")) + rest
        for old, new in _SPELLING_VARIANTS:
            if old in first:
                return (first.replace(old, new, 1),) + rest
        return (first[:-1] if first.endswith("E") else first + "E",) + rest

    def add_cnam_discrepancies(self, count: int) -> None:
        """Give ``count`` persons without a special case a CNAM identity that differs:
        a first name spelt differently, a birth date the CNAM holds as lunar (unknown
        day), or another day of the same month."""
        plain = [index for index, person in enumerate(self.out) if not person.notes]
        for index in sorted(self.rng.sample(plain, min(count, len(plain)))):
            person = self.out[index]
            kind = self.rng.choice(("first_names", "lunar", "birth_date"))
            if kind == "first_names":
                traits = {"first_names": self.misspelled(person.first_names)}
            elif kind == "lunar":
                traits = {"birth_date": person.birth_date[:8] + "00"}
            else:
                day = int(person.birth_date[8:])
                delta = self.rng.choice((-2, -1, 1, 2))
                other = day + delta if 1 <= day + delta <= 28 else day - delta
                traits = {"birth_date": f"{person.birth_date[:8]}{other:02d}"}
            self.out[index] = replace(person, cnam_traits=traits,
                                      notes=f"cnam-discrepancy: {kind}")

    def add_homonyms(self) -> None:
        first = self.person()
        place = first.birth_place
        while place == first.birth_place:
            place = self.place()
        second = self.person(sex=first.sex, born=first.birth_date, place=place,
                             birth_name=first.birth_name, first_names=first.first_names,
                             notes=f"homonym of {first.key}")
        self.out[-2] = replace(first, notes=f"homonym of {second.key}")

    def add_twins(self) -> None:
        born = self.day(date(2010, 1, 2), LAST_BIRTH)
        parent_born = self.day(born - timedelta(days=45 * 365), born - timedelta(days=20 * 365))
        parent = self.person(born=parent_born.isoformat())
        place = self.place()
        keys = [f"gen-{len(self.out) + i:06d}" for i in (0, 1)]
        for rank in (1, 2):
            self.person(born=born.isoformat(), place=place, birth_name=parent.birth_name,
                        od_number=parent.active.number, od_key=parent.active.key,
                        birth_rank=rank, notes=f"twin of {keys[2 - rank]}")
        self.out[-3] = replace(parent, notes=f"parent of twins {keys[0]}, {keys[1]}")

    def attach_parents(self) -> None:
        """Give every minor without ouvrant-droit a plausible parent's matricule."""
        adults = [p for p in self.out
                  if "1950" <= p.birth_date[:4] <= "2005" and p.active.oid == OID_INS_NIR]
        if not adults:
            return
        for index, child in enumerate(self.out):
            if child.birth_date <= MINOR_AFTER or child.od_number:
                continue
            for _ in range(20):
                parent = self.rng.choice(adults)
                if 18 <= int(child.birth_date[:4]) - int(parent.birth_date[:4]) <= 50:
                    break
            self.out[index] = replace(child, od_number=parent.active.number,
                                      od_key=parent.active.key)
