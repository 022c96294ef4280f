"""The kit's VIHF presets read back by the simulator's VIHF reader as the mode they name
(brief §4.1), with their signature verified; bris de glace only with a card."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from simulator.kit import vihf
from simulator.services.dmp.vihf import VihfError, read_vihf
from simulator.services.dmp.xmldsig import SignatureVerifier, verify_vihf_signature

NOW = "2025-01-15T10:00:00Z"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


def read(options: dict):
    header = etree.fromstring(f'<h xmlns:wsse="{WSSE}">{vihf.vihf(NOW, **options)}</h>')
    return read_vihf(header, datetime(2025, 1, 15, 10, tzinfo=timezone.utc),
                     max_skew=timedelta(minutes=10), require_patient=True,
                     verify_signature=lambda a: verify_vihf_signature(SignatureVerifier(), a))


@pytest.mark.parametrize("options, mode, user", [
    (vihf.professional_with_card("899900063480"), "DIRECTE", "899900063480"),
    (vihf.structure("10B0167011", "MON-EAI"), "INDIRECTE", "10B0167011/EAI"),
    (vihf.professional_air("00B1022322"), "INDIRECTE_RENFORCEE", "10B0167011/00B1022322"),
])
def test_each_preset_is_read_as_its_mode(options, mode, user):
    read_back = read(options)
    assert (read_back.auth_mode, read_back.access_mode) == (mode, "normal")
    assert read_back.structure_id == "10B0167011" and read_back.name_id == user


def test_bris_de_glace_is_read_with_a_card_and_refused_otherwise():
    assert read(vihf.professional_with_card(mode="bris_de_glace")).access_mode == \
        "bris_de_glace"
    with pytest.raises(VihfError, match="DIRECTE"):
        read(vihf.professional_air(mode="bris_de_glace"))
