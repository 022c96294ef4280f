"""The DMP rules of issue 12 without XML: which authentication mode may use which
transaction (brief §4.1), which INS OID may name which identity on which platform
(brief §3.2), and the settings that choose or relax them."""
from __future__ import annotations

import pytest

from simulator.identities.model import (
    OID_INS_NIA, OID_INS_NIR, OID_INS_NIR_DEMO, OID_INS_NIR_TEST, Identity, Matricule)
from simulator.services.dmp.access import (
    AIR, CONSULTATION, DIRECTE, INDIRECTE, TRANSACTIONS, mode_allows)
from simulator.services.dmp.ins_oid import (
    DEMO, NIA, NIR, InsOidRule, allowed_oids, identity_kind, oid_refusal)
from simulator.settings import DEFAULT_DMP_INDIRECT_DENIED, Settings, SettingsError

ADRUN = "275126322074974"
INS_OIDS = (OID_INS_NIR, OID_INS_NIA, OID_INS_NIR_TEST, OID_INS_NIR_DEMO)


# --- authentication modes -----------------------------------------------------------------

@pytest.mark.parametrize("transaction", sorted(TRANSACTIONS))
def test_direct_and_air_may_use_every_transaction(transaction):
    for mode in (DIRECTE, AIR):
        assert mode_allows(mode, transaction, DEFAULT_DMP_INDIRECT_DENIED).allowed


@pytest.mark.parametrize("transaction", sorted(TRANSACTIONS))
def test_indirect_may_feed_and_manage_but_not_consult(transaction):
    decision = mode_allows(INDIRECTE, transaction, DEFAULT_DMP_INDIRECT_DENIED)
    consulting = transaction in ("TD3.1a", "TD3.2")
    assert decision.allowed is not consulting
    if consulting:
        assert decision.reason == "AUTH_MODE"
        assert transaction in decision.message and "INDIRECTE_RENFORCEE" in decision.message


def test_the_default_denied_set_is_consultation_and_td31b_stays_open():
    assert DEFAULT_DMP_INDIRECT_DENIED == CONSULTATION == ("TD3.1a", "TD3.2")
    assert mode_allows(INDIRECTE, "TD3.1b", CONSULTATION).allowed
    assert "TD3.1b" in mode_allows(INDIRECTE, "TD3.1a", CONSULTATION).message


def test_the_denied_set_decides_for_indirect_only():
    assert not mode_allows(INDIRECTE, "TD0.3", ("TD0.3",)).allowed
    assert mode_allows(AIR, "TD0.3", ("TD0.3",)).allowed
    assert mode_allows(INDIRECTE, "TD3.2", ()).allowed


def test_an_unknown_transaction_is_a_programming_error():
    with pytest.raises(ValueError, match="TD9.9"):
        mode_allows(INDIRECTE, "TD9.9", CONSULTATION)


def test_indirect_denied_setting_from_the_environment():
    assert Settings.from_env({}).dmp_indirect_denied == ("TD3.1a", "TD3.2")
    assert Settings.from_env({"SIM_DMP_INDIRECT_DENIED": "none"}).dmp_indirect_denied == ()
    assert Settings.from_env({"SIM_DMP_INDIRECT_DENIED": "TD3.1a, TD3.2,TD1.6"}
                             ).dmp_indirect_denied == ("TD3.1a", "TD3.2", "TD1.6")
    with pytest.raises(SettingsError, match="TD3.9"):
        Settings.from_env({"SIM_DMP_INDIRECT_DENIED": "TD3.9"})


# --- INS OIDs -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind, platform, allowed", [
    (NIR, "test", (OID_INS_NIR_TEST,)),
    (NIR, "production", (OID_INS_NIR,)),
    (NIA, "test", (OID_INS_NIA,)),
    (NIA, "production", (OID_INS_NIA,)),
    (DEMO, "test", (OID_INS_NIR_DEMO,)),
    (DEMO, "production", (OID_INS_NIR_DEMO,)),
    (None, "test", (OID_INS_NIR_TEST, OID_INS_NIA)),
    (None, "production", (OID_INS_NIR, OID_INS_NIA)),
])
def test_the_oid_matches_the_identity_type_and_the_platform(kind, platform, allowed):
    assert allowed_oids(kind, platform) == allowed
    for oid in INS_OIDS:
        refusal = oid_refusal(kind, ADRUN, oid, platform)
        assert (refusal is None) is (oid in allowed), (oid, refusal)
        if refusal:
            assert ADRUN in refusal and oid in refusal and allowed[0] in refusal
            assert f"{platform} platform" in refusal


def test_a_nia_oid_on_a_nir_names_both():
    refusal = oid_refusal(NIR, ADRUN, OID_INS_NIA, "test")
    assert refusal == (f"the INS {ADRUN} is a NIR-based INS in the identity registry: on the "
                       "test platform (SIM_DMP_PLATFORM) it is named under "
                       "1.2.250.1.213.1.4.10 (INS-NIR test), not 1.2.250.1.213.1.4.9 (INS-NIA)")


def test_other_oids_are_left_to_the_api_version_rule():
    # The INS-C and non-INS OIDs are refused by vihf.identifier_refusal, with v1/v2 words.
    assert oid_refusal(NIR, ADRUN, "1.2.250.1.213.1.4.2", "test") is None
    assert oid_refusal(NIR, ADRUN, "1.2.3", "test") is None


class FakeStore:
    """identities_by_matricule over a list, as the SQLite store answers it."""

    def __init__(self, *identities: Identity):
        self.identities = identities
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def identities_by_matricule(self, number, roles):
        self.asked.append((number, roles))
        return [i for i in self.identities
                if any(m.number == number for m in (i.active, *i.history))]


def person(number: str, oid: str, history: tuple[Matricule, ...] = ()) -> Identity:
    return Identity(key=number, birth_name="ADRUN", first_names=("ZOE",), sex="F",
                    birth_date="1975-12-31", birth_place="63220",
                    active=Matricule(number, "74", oid), history=history)


@pytest.mark.parametrize("oid, kind", [(OID_INS_NIR, NIR), (OID_INS_NIR_TEST, NIR),
                                       (OID_INS_NIA, NIA), (OID_INS_NIR_DEMO, DEMO)])
def test_the_identity_type_is_the_registry_matricule_oid(oid, kind):
    store = FakeStore(person(ADRUN[:13], oid))
    assert identity_kind(store, ADRUN) == kind
    assert store.asked == [(ADRUN[:13], ("active", "history"))]


def test_a_former_matricule_keeps_its_own_type_and_unknown_is_none():
    former = Matricule("1090763220888", "35", OID_INS_NIA)
    store = FakeStore(person(ADRUN[:13], OID_INS_NIR, history=(former,)))
    assert identity_kind(store, "109076322088835") == NIA
    assert identity_kind(store, "188102B17295264") is None


def test_the_rule_can_be_switched_off():
    store = FakeStore(person(ADRUN[:13], OID_INS_NIR))
    assert InsOidRule(store, "test").refusal(ADRUN, OID_INS_NIA)
    assert InsOidRule(store, "test").refusal(ADRUN, OID_INS_NIR_TEST) is None
    assert InsOidRule(store, "production").refusal(ADRUN, OID_INS_NIR) is None
    off = InsOidRule(store, "test", enabled=False)
    assert off.refusal(ADRUN, OID_INS_NIA) is None and store.asked == [
        (ADRUN[:13], ("active", "history"))] * 3


def test_platform_settings():
    assert Settings().dmp_platform == "test" and Settings().dmp_ins_oid_check is True
    assert Settings.from_env({"SIM_DMP_PLATFORM": "production",
                              "SIM_DMP_INS_OID_CHECK": "false"}).dmp_platform == "production"
    assert Settings.from_env({"SIM_DMP_INS_OID_CHECK": "false"}).dmp_ins_oid_check is False
    with pytest.raises(SettingsError, match="dmp_platform"):
        Settings(dmp_platform="formation")


def test_one_rule_looks_each_ins_up_once():
    store = FakeStore(person(ADRUN[:13], OID_INS_NIR))
    rule = InsOidRule(store, "test")
    assert [rule.refusal(ADRUN, oid) is None for oid in (OID_INS_NIR_TEST, OID_INS_NIA) * 3] \
        == [True, False] * 3
    assert len(store.asked) == 1
