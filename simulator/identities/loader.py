"""Vendor-supplied persons from a CSV or YAML file.

CSV: a header row, then one person per row (``,`` or ``;`` separated, UTF-8, BOM
accepted); ``first_names`` is space-separated. YAML: a list of mappings, or a mapping
whose ``identities`` key holds that list; YAML may add ``history``, a list of
``{nir, key, oid, start, end}``. Fields: ``birth_name``, ``first_names``, ``sex``,
``birth_date``, ``birth_place`` (default: NIR characters 6-10), ``nir`` (13
characters), ``key`` (computed when absent), ``oid`` (default INS-NIR; also
``nir``/``nia``/``test``/``demo``), ``od_nir``, ``birth_rank`` (default 1),
``notes``, ``allow_bad_key`` (accept a key inconsistent with the NIR, as some CNDA
test identities have). The identity the CNAM knows (TD0.0), when it differs from the
RNIPP's: YAML ``cnam_traits`` ``{birth_name, first_names, birth_date}`` (any of them),
or the CSV columns ``cnam_birth_name``, ``cnam_first_names``, ``cnam_birth_date``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import yaml

from simulator.yaml_errors import describe as describe_yaml_error

from .model import OID_INS_NIA, OID_INS_NIR, OID_INS_NIR_DEMO, OID_INS_NIR_TEST, Identity, Matricule
from .nir import COG_PATTERN, DATE_PATTERN, KEY_PATTERN, NAME_PATTERN, NIR_PATTERN, nir_key

OID_WORDS = {"nir": OID_INS_NIR, "nia": OID_INS_NIA, "test": OID_INS_NIR_TEST,
             "demo": OID_INS_NIR_DEMO}
FIELDS = ("birth_name", "first_names", "sex", "birth_date", "birth_place", "nir", "key",
          "oid", "od_nir", "birth_rank", "history", "notes", "allow_bad_key")
CNAM_TRAITS = ("birth_name", "first_names", "birth_date")
#: Optional, so not listed in error messages (documented above).
CNAM_FIELDS = ("cnam_traits", *(f"cnam_{name}" for name in CNAM_TRAITS))
HISTORY_FIELDS = ("nir", "key", "oid", "start", "end")
_NAME_CHARS = "upper-case A-Z, space, hyphen or apostrophe"


class IdentityFileError(ValueError):
    """A vendor identity file that cannot be loaded; the message says where and why."""


class _StringLoader(yaml.SafeLoader):
    """Safe YAML loader keeping numbers and dates as strings (``01053``, ``1950-00-00``)."""


_StringLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag.rsplit(":", 1)[-1] not in ("int", "float", "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_identities(path) -> list[Identity]:
    """Load the persons of a ``.csv``, ``.yaml`` or ``.yml`` file as identities.

    Each identity's key is ``vendor-`` + its 15-character INS. Raises
    :class:`IdentityFileError` naming the file, row/item, field and expectation.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path)
    elif suffix in (".yaml", ".yml"):
        records = _yaml_records(path)
    else:
        raise IdentityFileError(f"{path.name}: expected a .csv, .yaml or .yml file")
    identities, seen = [], {}
    for where, record in records:
        identity = identity_from_mapping(record, where)
        if identity.key in seen:
            raise IdentityFileError(
                f"{where}, field nir: expected a unique INS, got {identity.active.ins!r} "
                f"(already in {seen[identity.key]})")
        seen[identity.key] = where
        identities.append(identity)
    return identities


def identity_from_mapping(data: dict, where: str) -> Identity:
    """Build one identity from a mapping with the file fields (also used by the admin API).

    ``where`` prefixes error messages (e.g. ``"persons.yaml item 3"``).
    """
    unknown = [name for name in data if name not in FIELDS + CNAM_FIELDS]
    if unknown:
        raise IdentityFileError(f"{where}, field {unknown[0]}: expected one of "
                                f"{', '.join(FIELDS)}, got an unknown field")
    return _Record(where, data).identity()


def _csv_records(path: Path):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
        handle.seek(0)
        delimiter = ";" if header.count(";") > header.count(",") else ","
        reader = csv.DictReader(handle, delimiter=delimiter)
        rows = list(reader)
    unknown = [name for name in reader.fieldnames or ()
               if name not in FIELDS + CNAM_FIELDS]
    if unknown:
        raise IdentityFileError(f"{path.name} row 1, field {unknown[0]}: "
                                f"expected one of {', '.join(FIELDS)}, got an unknown column")
    # Rows are numbered as in a spreadsheet: the header is row 1.
    for number, row in enumerate(rows, start=2):
        if None in row:
            raise IdentityFileError(f"{path.name} row {number}: more values than columns")
        if (row.get("history") or "").strip():
            raise IdentityFileError(f"{path.name} row {number}, field history: "
                                    "expected history only in YAML files")
        yield f"{path.name} row {number}", row


def _yaml_records(path: Path):
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StringLoader)
    except yaml.YAMLError as error:
        raise IdentityFileError(f"{path.name}: expected valid YAML "
                                f"({describe_yaml_error(error)})") from error
    if isinstance(data, dict) and "identities" in data:
        data = data["identities"]
    if data is None:
        return
    if not isinstance(data, list):
        raise IdentityFileError(f"{path.name}: expected a list of identities "
                                "or a mapping with key 'identities'")
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise IdentityFileError(f"{path.name} item {number}: expected a mapping, "
                                    f"got {item!r}")
        yield f"{path.name} item {number}", item


class _Record:
    """One row or item being validated; ``where`` prefixes every error."""

    def __init__(self, where: str, data: dict):
        self.where, self.data = where, data

    def fail(self, field: str, expected: str, value) -> IdentityFileError:
        return IdentityFileError(f"{self.where}, field {field}: expected {expected}, "
                                 f"got {value!r}")

    def text(self, field: str, data: dict | None = None) -> str:
        value = (self.data if data is None else data).get(field)
        return "" if value is None else str(value).strip()

    def required(self, field: str) -> str:
        value = self.text(field)
        if not value:
            raise self.fail(field, "a value", value)
        return value

    def checked(self, field: str, value: str, pattern, expected: str) -> str:
        if not pattern.fullmatch(value):
            raise self.fail(field, expected, value)
        return value

    def name(self, field: str, value: str) -> str:
        return self.checked(field, value.upper(), NAME_PATTERN, _NAME_CHARS)

    def flag(self, field: str) -> bool:
        value = self.data.get(field)
        if isinstance(value, bool) or value is None:
            return bool(value)
        word = str(value).strip().lower()
        if word not in ("", "true", "false", "yes", "no", "1", "0"):
            raise self.fail(field, "true or false", value)
        return word in ("true", "yes", "1")

    def first_names(self, field: str = "first_names", value=None) -> tuple[str, ...]:
        value = self.data.get(field) if value is None else value
        # A list item holding spaces is read like ListePrenom: one first name per word.
        items = value if isinstance(value, list) else [str(value or "").strip()]
        words = [word for item in items for word in str(item).split()]
        if not words:
            raise self.fail(field, "at least one first name", value)
        return tuple(self.name(field, word) for word in words)

    def cnam_traits(self) -> dict:
        given = self.data.get("cnam_traits") or {}
        if not isinstance(given, dict) or set(given) - set(CNAM_TRAITS):
            raise self.fail("cnam_traits", "a mapping with birth_name, first_names, "
                            "birth_date", given)
        given = {**given, **{name: self.data[f"cnam_{name}"] for name in CNAM_TRAITS
                             if str(self.data.get(f"cnam_{name}") or "").strip()}}
        traits = {}
        for name, value in given.items():
            field = f"cnam_traits.{name}"
            if name == "first_names":
                traits[name] = self.first_names(field, value)
            elif name == "birth_name":
                traits[name] = self.name(field, str(value).strip())
            else:
                traits[name] = self.checked(field, str(value).strip(), DATE_PATTERN,
                                            "a date YYYY-MM-DD")
        return traits

    def oid(self, label: str, data: dict) -> str:
        value = self.text("oid", data)
        if not value:
            return OID_INS_NIR
        oid = OID_WORDS.get(value.lower(), value)
        if oid not in OID_WORDS.values():
            raise self.fail(label, "nir, nia, test, demo or an INS OID (1.2.250.1.213.1.4.8-11)",
                            value)
        return oid

    def matricule(self, prefix: str, data: dict, allow_bad_key: bool, **dates) -> Matricule:
        number = self.text("nir", data)
        self.checked(prefix + "nir", number, NIR_PATTERN,
                     "13 characters (digits, department 2A/2B allowed)")
        key = self.text("key", data) or nir_key(number)
        self.checked(prefix + "key", key, KEY_PATTERN, "2 digits")
        if key != nir_key(number) and not allow_bad_key:
            raise self.fail(prefix + "key", f"{nir_key(number)} (the key of {number}; "
                            "set allow_bad_key to keep a wrong key)", key)
        return Matricule(number, key, self.oid(prefix + "oid", data), **dates)

    def history(self, allow_bad_key: bool) -> tuple[Matricule, ...]:
        items = self.data.get("history") or []
        if not isinstance(items, list):
            raise self.fail("history", "a list of {nir, key, oid, start, end}", items)
        history = []
        for index, item in enumerate(items, start=1):
            prefix = f"history[{index}]."
            if not isinstance(item, dict) or set(item) - set(HISTORY_FIELDS):
                raise self.fail(prefix[:-1], "a mapping with nir, key, oid, start, end", item)
            dates = {}
            for field in ("start", "end"):
                value = self.text(field, item)
                if value:
                    self.checked(prefix + field, value, DATE_PATTERN, "a date YYYY-MM-DD")
                dates[field] = value or None
            history.append(self.matricule(prefix, item, allow_bad_key, **dates))
        return tuple(history)

    def identity(self) -> Identity:
        sex = self.required("sex").upper()
        if sex not in ("M", "F"):
            raise self.fail("sex", "M or F", self.text("sex"))
        birth_date = self.checked("birth_date", self.required("birth_date"), DATE_PATTERN,
                                  "a date YYYY-MM-DD")
        allow_bad_key = self.flag("allow_bad_key")
        self.required("nir")
        active = self.matricule("", self.data, allow_bad_key)
        place = self.text("birth_place") or active.number[5:10]
        self.checked("birth_place", place, COG_PATTERN, "a 5-character COG")
        od_number = od_key = None
        if self.text("od_nir"):
            od_number = self.checked("od_nir", self.text("od_nir"), NIR_PATTERN,
                                     "13 characters (digits, department 2A/2B allowed)")
            od_key = nir_key(od_number)
        rank = self.text("birth_rank") or "1"
        if not rank.isdigit() or int(rank) < 1:
            raise self.fail("birth_rank", "a positive integer", rank)
        return Identity(
            key="vendor-" + active.ins,
            birth_name=self.name("birth_name", self.required("birth_name")),
            first_names=self.first_names(), sex=sex, birth_date=birth_date,
            birth_place=place, active=active, history=self.history(allow_bad_key),
            od_number=od_number, od_key=od_key, birth_rank=int(rank), source="vendor",
            notes=self.text("notes"), cnam_traits=self.cnam_traits())
