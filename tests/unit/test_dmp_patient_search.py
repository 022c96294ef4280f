"""TD0.5's search rules on DMP records, without XML (simulator/services/dmp/patient_search)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from simulator.services.dmp import refusals
from simulator.services.dmp.patient_search import (
    SearchCriteria, check, matches, normalise, search)
from simulator.services.dmp.records import DmpRecord, PatientTraits
from simulator.services.dmp.refusals import DmpRefusal

NOW = datetime(2024, 3, 1, tzinfo=timezone.utc)


def record(ins: str, birth_name: str, given: str, sex: str = "F", born: str = "1980-01-01",
           used: str | None = None, address: tuple[str, ...] = ()) -> DmpRecord:
    return DmpRecord(ins, "1.2.250.1.213.1.4.10", "active",
                     PatientTraits(birth_name, given, sex, born, used_name=used,
                                   address=address), NOW, NOW)


DARTAGNAN = record("101066322075460", "D'ARTAGNAN DE L'HERAULT", "PIERRE-ALAIN MURIEL", "M",
                   used="DUPONT", address=("1 rue Haute", "34000", "SAINT-GÉLY-DU-FESC"))
NESSI = record("277076322082910", "NESSI", "NATHALIE", born="1977-07-14")


def test_names_compare_without_case_accents_hyphens_or_apostrophes():
    assert normalise("  d'Artagnan-de l’Hérault ") == "D ARTAGNAN DE L HERAULT"
    assert normalise("Œdipe") == "OEDIPE"
    assert matches(DARTAGNAN, SearchCriteria("d artagnan de l'herault"))
    assert matches(DARTAGNAN, SearchCriteria("Dupont"))  # the used name


@pytest.mark.parametrize("criteria, found", [
    (SearchCriteria("D'ART"), False),
    (SearchCriteria("D'ART", approximate_name=True), True),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", given="pierre alain"), True),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", given="MURIEL"), False),
    (SearchCriteria("D'ART", given="MUR", approximate_name=True), True),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", city="saint gely du fesc"), True),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", city="SAINT GELY"), False),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", city="SAINT GELY", approximate_city=True), True),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", postcode="34 000"), True),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", sex="F"), False),
    (SearchCriteria("D'ARTAGNAN DE L'HERAULT", sex="U"), True),
    (SearchCriteria("NESSI", postcode="75005"), False),  # no address recorded
])
def test_each_criterion(criteria, found):
    assert matches(DARTAGNAN if criteria.name.startswith("D") else NESSI, criteria) is found


@pytest.mark.parametrize("criteria", [SearchCriteria("A"), SearchCriteria(" - '"),
                                      SearchCriteria("NESSI", sex="X")])
def test_unusable_criteria(criteria):
    with pytest.raises(ValueError):
        check(criteria)


def test_results_are_sorted_and_bounded():
    records = [NESSI, DARTAGNAN, record("2", "NESSIER", "ANNE")]
    wanted = SearchCriteria("NESS", approximate_name=True)
    assert [r.ins for r in search(records, wanted, 2)] == [NESSI.ins, "2"]
    with pytest.raises(DmpRefusal) as refused:
        search(records, wanted, 1)
    assert refused.value.code == refusals.TOO_MANY_RESULTS
    assert refused.value.text.startswith("2 patients match")
