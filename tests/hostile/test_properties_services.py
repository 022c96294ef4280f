"""Property-based tests of the services' readers and rules: the INSi matcher (never raises,
consistent compte-rendus), the VIHF reader (a Vihf or a VihfError on any mutation of a
valid assertion) and the XDS metadata reader (a Submission or an XdsFailure on any
mutation of a valid TD2.1)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import event, given
from hypothesis import strategies as st
from lxml import etree

from simulator.kit import xds
from simulator.kit.soap import vihf
from hostile_strategies import XML_TEXT, elements, fuzz_settings, mutated, qname
from simulator.identities.model import Identity, Matricule
from simulator.services.dmp.vihf import Vihf, VihfError, peek_vihf, read_vihf
from simulator.services.dmp.xds.errors import XdsError, XdsFailure
from simulator.services.dmp.xds.model import (
    RegistryObject, read_association, read_classification, read_registry_object)
from simulator.services.dmp.xds.submission import Submission, parse_provide_and_register
from simulator.services.insi.matching import (
    CR_LABELS, SearchOutcome, TraitsQuery, VitaleQuery, match_traits, match_vitale)
from simulator.soap.namespaces import WSSE
from simulator.soap.parsing import safe_parser

# --- the INSi matcher -------------------------------------------------------------------------

# Few values, so that candidates often share traits (the interesting cases: CR 02).
NAMES = st.sampled_from(["ADRUN", "DE VINCI", "O'NEILL", "MARTIN-DURAND", "LE GRAND"])
FIRST = st.sampled_from(["ZOE", "JEAN", "JEAN-PHILIPPE", "MARIE", "ANNE"])
DATES = st.sampled_from(["1975-12-31", "1980-03-14", "1950-00-00", "2012-05-10"])
PLACES = st.sampled_from(["75112", "2A004", "2B033", "20004", "99134"])
MATRICULES = st.sampled_from(["2751263220749", "1800375112001", "2760763220901"])


@st.composite
def identities(draw) -> Identity:
    """A person as the registry holds them (upper-case names, as the loader stores)."""
    return Identity(
        key=draw(st.uuids()).hex, birth_name=draw(NAMES),
        first_names=tuple(draw(st.lists(FIRST, min_size=1, max_size=3))),
        sex=draw(st.sampled_from("MF")), birth_date=draw(DATES), birth_place=draw(PLACES),
        active=Matricule(draw(MATRICULES), "49"),
        od_number=draw(st.none() | MATRICULES), birth_rank=draw(st.integers(1, 3)))


def traits_of(identity: Identity, data, place: bool) -> TraitsQuery:
    """The query an operator types for ``identity``: the first first name or the whole
    list, in any case and spacing."""
    def typed(text):
        return data.draw(st.sampled_from([text, text.lower(), f"  {text} ", text.title()]))
    first = data.draw(st.sampled_from([identity.first_first_name,
                                       identity.first_names_list]))
    return TraitsQuery(typed(identity.birth_name), (typed(first),), identity.sex,
                       identity.birth_date, identity.birth_place if place else None)


def assert_outcome_shape(outcome: SearchOutcome, candidates: list[Identity]) -> None:
    assert outcome.code in CR_LABELS and outcome.label == CR_LABELS[outcome.code]
    assert (outcome.identity is not None) == (outcome.code == "00")
    if outcome.identity is not None:
        assert outcome.identity in candidates


def size(outcome: SearchOutcome) -> int:
    """How many identities a compte-rendu says matched: 0, 1 or 'several' (2)."""
    return {"01": 0, "00": 1, "02": 2}[outcome.code]


@fuzz_settings(100)
@given(st.lists(identities(), max_size=6), st.builds(
    TraitsQuery, st.one_of(NAMES, XML_TEXT), st.lists(st.one_of(FIRST, XML_TEXT), max_size=3)
    .map(tuple), st.sampled_from(["M", "F", "", "X"]), st.one_of(DATES, XML_TEXT),
    st.none() | PLACES | XML_TEXT), st.randoms(use_true_random=False))
def test_match_traits_never_raises_and_is_order_independent(candidates, query, random):
    outcome = match_traits(candidates, query)
    assert_outcome_shape(outcome, candidates)
    shuffled = list(candidates)
    random.shuffle(shuffled)
    again = match_traits(shuffled, query)
    assert (again.code, again.identity) == (outcome.code, outcome.identity)


@fuzz_settings(100)
@given(st.lists(identities(), min_size=1, max_size=6), st.data())
def test_a_candidates_own_traits_find_them(candidates, data):
    """Completeness: the traits of a candidate, as typed by an operator, never give CR 01;
    CR 00 names that candidate unless another shares the traits; a birth place only
    narrows the search."""
    wanted = candidates[data.draw(st.integers(0, len(candidates) - 1))]
    query = traits_of(wanted, data, place=False)
    outcome = match_traits(candidates, query)
    assert_outcome_shape(outcome, candidates)
    assert outcome.code != "01", (wanted, query)
    if outcome.code == "00":
        assert outcome.identity == wanted
    narrowed = match_traits(candidates, TraitsQuery(
        query.birth_name, query.first_names, query.sex, query.birth_date, wanted.birth_place))
    assert_outcome_shape(narrowed, candidates)
    assert narrowed.code != "01" and size(narrowed) <= size(outcome)
    if narrowed.code == "00":
        assert narrowed.identity == wanted


@fuzz_settings(100)
@given(st.lists(identities(), max_size=6), st.builds(
    VitaleQuery, st.one_of(DATES, XML_TEXT), st.none() | MATRICULES | XML_TEXT,
    st.none() | MATRICULES | XML_TEXT, st.none() | st.integers(-1, 4)))
def test_match_vitale_never_raises_and_answers_only_from_the_card(candidates, query):
    outcome = match_vitale(candidates, query)
    assert_outcome_shape(outcome, candidates)
    if outcome.identity is not None:
        assert outcome.identity.birth_date == query.birth_date
        if query.individual_number is None:
            assert outcome.identity.ouvrant_droit == query.od_number
            assert query.birth_rank in (None, outcome.identity.birth_rank)


# --- the VIHF ---------------------------------------------------------------------------------

NOW = datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
VIHF_TAGS = qname(["urn:oasis:names:tc:SAML:2.0:assertion", "urn:hl7-org:v3", WSSE,
                   "http://www.w3.org/2000/09/xmldsig#"],
                  st.sampled_from(["Assertion", "Attribute", "AttributeValue", "Role",
                                   "PurposeOfUse", "Issuer", "Subject", "NameID",
                                   "AttributeStatement", "Signature", "Security"]))
VIHF_ATTRIBUTES = st.sampled_from(["Version", "IssueInstant", "Name", "code", "codeSystem",
                                   "ID"])
VIHF_VALUES = st.one_of(XML_TEXT, st.sampled_from([
    "2.0", "2024-03-01T08:30:00Z", "2024-03-01T08:30:00", "normal", "bris_de_glace",
    "DIRECTE", "1.2.250.1.213.1.1.4.248", "urn:dmp", "SA07^1.2.250.1.71.4.2.4",
    "275126322074974^^^&1.2.250.1.213.1.4.2&ISO^INS-C",
    "275126322074974^^^&1.2.250.1.213.1.4.10&ISO^NH"]))


def valid_vihf_header(**options) -> etree._Element:
    """A soap:Header holding the builders' VIHF (dated NOW)."""
    return etree.fromstring(
        '<soap:Header xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
        + vihf(NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), **options) + "</soap:Header>",
        safe_parser())


def read_or_refuse(header, require_patient: bool, require_signature: bool):
    try:
        found = read_vihf(header, NOW, max_skew=timedelta(minutes=5),
                          require_patient=require_patient,
                          require_signature=require_signature)
    except VihfError as error:
        assert str(error), "a VihfError must say what is wrong"
        return error
    assert isinstance(found, Vihf)
    return found


def outcome_label(result) -> str:
    """What hypothesis counts (--hypothesis-show-statistics): where reading stopped."""
    return "Vihf" if isinstance(result, Vihf) else f"VihfError: {str(result)[:40]}"


def test_the_unmutated_vihf_is_read():
    """The control: the properties below start from an assertion that is accepted."""
    assert isinstance(read_or_refuse(valid_vihf_header(), True, True), Vihf)


@fuzz_settings(100)
@given(st.data(), st.booleans(), st.booleans(),
       st.sampled_from([{}, {"mode": "bris_de_glace"}, {"patient": None}, {"signed": False}]))
def test_any_mutated_vihf_is_read_or_refused_with_a_vihf_error(data, require_patient,
                                                                require_signature, options):
    header = data.draw(mutated(valid_vihf_header(**options), tags=VIHF_TAGS,
                               values=VIHF_VALUES, attribute_names=VIHF_ATTRIBUTES))
    event(outcome_label(read_or_refuse(header, require_patient, require_signature)))
    assert isinstance(peek_vihf(header), dict)


ATTRIBUTE_NAMES = st.sampled_from([
    "VIHF_Version", "Authentification_Mode", "Secteur_Activite", "Ressource_URN",
    "Identifiant_Structure", "LPS_Nom", "LPS_Version", "LPS_ID_HOMOLOGATION_DMP",
    "urn:oasis:names:tc:xacml:2.0:subject:role",
    "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
    "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
    "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
    "urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code"])


@st.composite
def attribute_values(draw) -> etree._Element:
    """A saml:AttributeValue: text, or a coded hl7:Role / hl7:PurposeOfUse."""
    value = etree.Element(f"{{{SAML}}}AttributeValue")
    if draw(st.booleans()):
        value.text = draw(VIHF_VALUES)
    else:
        coded = etree.SubElement(value, draw(st.sampled_from(
            ["{urn:hl7-org:v3}Role", "{urn:hl7-org:v3}PurposeOfUse", "{urn:hl7-org:v3}X"])))
        for name in draw(st.lists(st.sampled_from(["code", "codeSystem"]), max_size=2)):
            coded.set(name, draw(VIHF_VALUES))
    return value


@st.composite
def vihf_headers(draw) -> etree._Element:
    """The builders' VIHF, each attribute of its statement kept, dropped, given other
    values or more values, and other attributes added."""
    header = valid_vihf_header()
    statement = header.find(f".//{{{SAML}}}AttributeStatement")
    for attribute in list(statement):
        action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "replace", "add"]))
        if action == "drop":
            statement.remove(attribute)
        elif action in ("replace", "add"):
            if action == "replace":
                for value in list(attribute):
                    attribute.remove(value)
            for value in draw(st.lists(attribute_values(), min_size=1, max_size=2)):
                attribute.append(value)
    for name in draw(st.lists(st.one_of(ATTRIBUTE_NAMES, XML_TEXT), max_size=2)):
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
        for value in draw(st.lists(attribute_values(), max_size=2)):
            attribute.append(value)
    return header


@fuzz_settings(60)
@given(vihf_headers(), st.booleans())
def test_any_attribute_statement_is_read_or_refused_with_a_vihf_error(header, signed):
    if not signed:
        signature = header.find(".//{http://www.w3.org/2000/09/xmldsig#}Signature")
        signature.getparent().remove(signature)
    event(outcome_label(read_or_refuse(header, False, True)))
    assert isinstance(peek_vihf(header), dict)


# --- the XDS metadata ------------------------------------------------------------------------

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
XDS_TAGS = qname([RIM, "urn:ihe:iti:xds-b:2007", "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"],
                 st.sampled_from(["ExtrinsicObject", "RegistryPackage", "Association",
                                  "Classification", "ExternalIdentifier", "Slot", "ValueList",
                                  "Value", "Name", "LocalizedString", "VersionInfo",
                                  "ObjectRef", "Document", "RegistryObjectList",
                                  "SubmitObjectsRequest"]))
XDS_ATTRIBUTES = st.sampled_from(["id", "classificationScheme", "classifiedObject",
                                  "classificationNode", "nodeRepresentation", "objectType",
                                  "identificationScheme", "value", "name", "sourceObject",
                                  "targetObject", "associationType", "mimeType", "lid"])
XDS_VALUES = st.one_of(XML_TEXT, st.sampled_from([
    "SubmissionSet01", "Document01", "Signature01", "urn:uuid:a54d6aa5-d40d-43f9-88c5-"
    "b4633d873bdd", "AA==", "not base64!", "", "urn:oasis:names:tc:ebxml-regrep:"
    "AssociationType:HasMember"]))
VALID_TD21 = etree.fromstring(xds.provide_and_register().body, safe_parser())


def test_the_unmutated_submission_is_read():
    """The control: the property below starts from a submission that is accepted."""
    assert isinstance(parse_provide_and_register(VALID_TD21), Submission)


@fuzz_settings(100)
@given(st.data())
def test_any_mutated_submission_is_read_or_refused_with_an_xds_failure(data):
    body = data.draw(mutated(VALID_TD21, tags=XDS_TAGS, values=XDS_VALUES,
                             attribute_names=XDS_ATTRIBUTES, max_mutations=6))
    try:
        submission = parse_provide_and_register(body)
    except XdsFailure as failure:
        event(f"XdsFailure: {failure.errors[0].code}")
        assert failure.errors and all(isinstance(e, XdsError) and e.code and e.message
                                      for e in failure.errors)
    else:
        event("Submission")
        assert isinstance(submission, Submission)
        assert {e.id for e in submission.entries} == set(submission.contents)
    for element in body.iter(f"{{{RIM}}}ExtrinsicObject", f"{{{RIM}}}RegistryPackage"):
        assert isinstance(read_registry_object(element), RegistryObject)
    for element in body.iter(f"{{{RIM}}}Association"):
        read_association(element)
    for element in body.iter(f"{{{RIM}}}Classification"):
        read_classification(element)


@fuzz_settings(40)
@given(elements(XDS_TAGS, depth=3, max_children=2))
def test_any_element_is_read_as_a_registry_object(element):
    obj = read_registry_object(element)
    assert isinstance(obj, RegistryObject)
    assert RegistryObject.from_dict(obj.to_dict()) == obj
