"""Qualification-platform quirks, replayed when ``SIM_INSI_QUALIF_QUIRKS`` is on.

On the CNAM qualification platform some searches answered ``siram_40``/``insi_102``
where CR 01 (or the CNDA test-book answer) was expected; both CNDA-approved clients
work around it (domain brief §7.3). Off by default: the simulator then answers what
the test book expects.
"""
from __future__ import annotations

from simulator.services.insi.errors import InsiError
from simulator.services.insi.matching import TraitsQuery
from simulator.soap.errors import ServiceFault

# First names of the CNDA cases 2.07 (TCHITCHI OLA, HOUILLES PIERRE/PAUL/JACQUES).
QUIRK_FIRST_NAMES = {"OLA", "PIERRE", "PAUL", "JACQUES", "PIERRE PAUL JACQUES"}
# (birth name, first name) searches captured with insi_102.
QUIRK_PERSONS = {("ADRTROIS-DOES-NOT-EXIST", "DOMINIQUE"), ("D'AEION", "COEUR"),
                 ("DE VINCI", "RUTH"), ("PROVISOIRE", "MATRICULE")}


def gives_technical_error(query: TraitsQuery) -> bool:
    """Whether the qualification platform answered this search with insi_102."""
    return query.first_name in QUIRK_FIRST_NAMES or \
        (query.birth_name, query.first_name) in QUIRK_PERSONS


def raise_technical_error() -> None:
    """Raise the catalogue's technical-error fault."""
    raise ServiceFault(InsiError.TECHNICAL_ERROR)
