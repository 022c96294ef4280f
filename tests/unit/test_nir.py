import pytest

from simulator.identities.nir import build_nir, is_valid_nir, nir_key, split_ins

KNOWN = [  # CNAM qualification / CNDA test identities
    ("2751263220749", "74"),  # ADRUN ZOE
    ("297022A020778", "78"),  # ADRTROIS DOMINIQUE, Corsica 2A
    ("160012B020777", "13"),  # ADRTROIS TOUSSAINT, Corsica 2B
    ("1090763220834", "89"),  # ECETINSI
    ("180032B020401", "23"),  # CORSE ANTHONY
    ("2360663220836", "56"),  # TCHITCHI
]


@pytest.mark.parametrize("number,key", KNOWN)
def test_key_of_known_persons(number, key):
    assert nir_key(number) == key
    assert is_valid_nir(number, key)


def test_key_is_zero_padded():
    # N mod 97 = 88 -> key 9, written "09"
    number = "1750163220009"
    assert int(number) % 97 == 88
    assert nir_key(number) == "09"


def test_corsica_rule_differs_from_plain_digits():
    assert nir_key("297022A020778") != nir_key("2970220020778")


@pytest.mark.parametrize("number,key", [
    ("2751263220749", "75"),      # wrong key
    ("2751263220749", "7"),       # one digit
    ("275126322074", "74"),       # 12 characters
    ("27512632207490", "74"),     # 14 characters
    ("2751263C20749", "74"),      # letter outside the department
    ("29702AA020778", "78"),      # 'AA' department
    (2751263220749, "74"),        # not a string
])
def test_invalid(number, key):
    assert not is_valid_nir(number, key)


def test_nir_key_rejects_malformed():
    with pytest.raises(ValueError):
        nir_key("27512632207")
    with pytest.raises(ValueError):
        nir_key("2751263X20749")


def test_split_ins():
    assert split_ins("275126322074974") == ("2751263220749", "74")
    assert split_ins("297022A02077878") == ("297022A020778", "78")
    for bad in ("27512632207497", "2751263220749744", "2751263220749AB"):
        with pytest.raises(ValueError):
            split_ins(bad)


@pytest.mark.parametrize("args,expected", [
    (("F", "1975-12-31", "63220", 749), "2751263220749"),
    (("F", "1997-02-26", "2A020", 778), "297022A020778"),
    (("M", "1960-01-01", "2B020", 777), "160012B020777"),
    (("M", "1980-03-02", "2B020", 401), "180032B020401"),
    (("M", "1990-07-14", "99350", 5), "1900799350005"),    # born in Morocco
    (("F", "2001-04-02", "97411", 12), "2010497411012"),   # La Reunion
    (("M", "1950-00-00", "99352", 33), "1502099352033"),   # lunar date: month 20
    (("F", "1962-13-31", "99127", 1), "2622099127001"),    # month 13 -> 20 too
])
def test_build_nir(args, expected):
    number = build_nir(*args)
    assert number == expected
    assert is_valid_nir(number, nir_key(number))
    assert split_ins(number + nir_key(number)) == (number, nir_key(number))


def test_build_nir_round_trip_known_keys():
    number = build_nir("F", "1936-06-21", "63220", 836)
    assert (number, nir_key(number)) == ("2360663220836", "56")


@pytest.mark.parametrize("args", [
    ("X", "1975-12-31", "63220", 1),
    ("M", "31/12/1975", "63220", 1),
    ("M", "1975-12-31", "6322", 1),
    ("M", "1975-12-31", "2C020", 1),
    ("M", "1975-12-31", "63220", 0),
    ("M", "1975-12-31", "63220", 1000),
])
def test_build_nir_rejects(args):
    with pytest.raises(ValueError):
        build_nir(*args)
