"""The official test persons of the INSi qualification platform and CNDA test book.

Traits and matricules are those published (domain brief §9). Where the sources give no
matricule (DE VINCI), the simulator builds one with a valid key and says so in
``notes``. The CNDA anomalies are kept as published: HERMANN GATIEN's keys do not
satisfy the mod-97 rule, and CORSE ANTHONY's history repeats his active matricule.
"""
from __future__ import annotations

from simulator.identities.model import OID_INS_NIA, Identity, Matricule
from simulator.identities.nir import nir_key


def _person(key, name, first_names, sex, born, place, number, cle, **extra) -> Identity:
    return Identity(key=f"cnda-{key}", birth_name=name, first_names=tuple(first_names.split()),
                    sex=sex, birth_date=born, birth_place=place,
                    active=Matricule(number, cle, extra.pop("oid", "1.2.250.1.213.1.4.8")),
                    source="cnda", **extra)


def _built(number: str) -> Matricule:
    return Matricule(number, nir_key(number))


def cnda_identities() -> list[Identity]:
    """The test persons, with their documented outcomes in ``notes``."""
    ruth = _built("2760763220901")
    return [
        _person("adrun-zoe", "ADRUN", "ZOE", "F", "1975-12-31", "63220", "2751263220749", "74",
                notes="CR 00 on qualification (CR 01 in production)"),
        _person("adrtrois-dominique", "ADRTROIS", "DOMINIQUE", "F", "1997-02-26", "2A020",
                "297022A020778", "78",
                notes="CR 00; birth place sent as 20020 before the Oct 2022 format change"),
        _person("adrtrois-toussaint", "ADRTROIS", "TOUSSAINT", "M", "1960-01-01", "2B020",
                "160012B020777", "13", notes="CR 00; CNDA 2.03 cas 2"),
        _person("adrdeux-laurent", "ADRDEUX", "LAURENT", "M", "1981-01-01", "63220",
                "1810163220751", "40",
                notes="CNDA WS_INS2 sample; birth place taken from the NIR"),
        _person("tchitchi-catarina", "TCHITCHI", "CATARINA BELLA", "F", "1936-06-21", "63220",
                "2360663220836", "56",
                notes="CATARINA -> CR 00; OLA -> CR 01 (CNDA 2.07 cas 1)"),
        _person("ecetinsi-pierre-alain", "ECETINSI", "PIERRE-ALAIN MURIEL FLORIANT", "M",
                "2009-07-14", "63220", "1090763220834", "89",
                history=(Matricule("2090763220834", "39", start="2019-03-01", end="2019-02-28"),
                         Matricule("2090663220123", "55")),
                notes="CR 00 with two INSHISTO (CNDA 2.04 cas 2; dates as returned)"),
        _person("provisoire-matricule", "PROVISOIRE", "MATRICULE", "M", "2009-07-01", "63220",
                "1090763220888", "35", oid=OID_INS_NIA,
                notes="NIA (OID .9), CNDA 2.05; qualification gave insi_102"),
        _person("devinci-leonardo-63220", "DE VINCI", "LEONARDO", "M", "2014-02-01", "63220",
                "1140263220123", nir_key("1140263220123"),
                notes="homonym: CR 02 without birth place, CR 00 with 63220 (CNDA 2.06); "
                      "matricule built by the simulator"),
        _person("devinci-leonardo-75056", "DE VINCI", "LEONARDO", "M", "2014-02-01", "75056",
                "1140275056321", nir_key("1140275056321"),
                notes="the other DE VINCI LEONARDO (CNDA 2.06); matricule built by the simulator"),
        Identity(key="cnda-devinci-ruth", birth_name="DE VINCI", first_names=("RUTH",), sex="F",
                 birth_date="1976-07-14", birth_place="63220", active=ruth, source="cnda",
                 notes="holder of test Vitale card 'INSi 01'; matricule built by the simulator"),
        Identity(key="cnda-devinci-donatello", birth_name="DE VINCI",
                 first_names=("DONATELLO",), sex="M", birth_date="2012-05-10",
                 birth_place="63220", active=_built("1120563220902"), od_number=ruth.number,
                 od_key=ruth.key, birth_rank=1, source="cnda",
                 notes="child on card 'INSi 01' (ouvrant droit: RUTH); birth date and "
                       "matricule built by the simulator"),
        _person("corse-anthony", "CORSE", "ANTHONY", "M", "1980-03-02", "2B020",
                "180032B020401", "23", history=(Matricule("180032B020401", "23"),),
                notes="CR 00; INSHISTO identical to INSACTIF (CNDA 2.08 cas 1)"),
        _person("hermann-gatien", "HERMANN", "GATIEN", "M", "1981-03-24", "63220",
                "1810363220456", "60",
                history=(Matricule("1810363220456", "60"), Matricule("2810363220456", "10")),
                notes="CR 00 (CNDA 2.08 cas 2); keys 60/10 kept as published though mod 97 "
                      "gives 76/26"),
        _person("nessi-michelangelo", "NESSI", "MICHELANGELO ANTHONY", "M", "2010-08-07",
                "63220", "1100863220830", "60", notes="CR 00"),
        _person("nessi-nathalie", "NESSI", "NATHALIE", "F", "1977-07-14", "63220",
                "2770763220829", "10", notes="CNDA TEST_3.05 cas 3"),
        _person("dartagnan-pierre-alain", "D'ARTAGNAN DE L'HERAULT",
                "PIERRE-ALAIN MURIEL FLORIANT", "M", "2001-06-17", "63220", "1010663220754",
                "60", notes="CR 00; apostrophes in the birth name (CNDA 2.03 cas 1); "
                            "first names as in a client fixture"),
    ]
