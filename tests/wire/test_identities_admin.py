"""Identities changed at runtime: update and delete on /_admin/identities/KEY, and
every runtime change (add, update, delete) kept until the next reset, a restart with
another identities file included (README, Identities)."""
from __future__ import annotations

from werkzeug.test import Client

from envelopes import SOAP_CT, traits_request
from simulator.app import create_app
from simulator.settings import Settings

NEW_PERSON = {"birth_name": "DUPONT-MOREAU", "first_names": "ANNE-SOPHIE CLAIRE", "sex": "F",
              "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}
VENDOR_FILE = ("birth_name,first_names,sex,birth_date,birth_place,nir\n"
               "LEFEBVRE,PAUL,M,1970-03-02,59350,1700359350111\n")
OTHER_FILE = ("birth_name,first_names,sex,birth_date,birth_place,nir\n"
              "GARNIER,LUCIE,F,1985-07-14,69123,2850769123222\n")


def code_cr(client, *traits) -> str:
    data = client.post("/lps", data=traits_request(*traits), content_type=SOAP_CT).data
    return data.split(b"<CodeCR>")[1][:2].decode()


def test_update_replaces_the_fields_and_keeps_key_and_source(client):
    key = "cnda-adrtrois-dominique"
    before = client.get(f"/_admin/identities/{key}").json
    changed = {"birth_name": "ADRTROIS", "first_names": "DOMINIQUE MARIE", "sex": "F",
               "birth_date": "1997-02-26", "birth_place": before["birth_place"],
               "nir": before["active"]["number"]}
    response = client.put(f"/_admin/identities/{key}", json=changed)
    assert response.status_code == 200, response.json
    assert (response.json["key"], response.json["source"], response.json["first_names"]) == \
        (key, "cnda", ["DOMINIQUE", "MARIE"])
    assert client.get(f"/_admin/identities/{key}").json["first_names"] == ["DOMINIQUE", "MARIE"]


def test_update_refusals(client):
    assert client.put("/_admin/identities/nobody", json=NEW_PERSON).status_code == 404
    bad = client.put("/_admin/identities/cnda-adrtrois-dominique", json={**NEW_PERSON,
                                                                        "sex": "X"})
    assert bad.status_code == 400 and "field sex" in bad.json["error"]
    holder = client.get("/_admin/identities/cnda-adrtrois-toussaint").json
    taken = client.put("/_admin/identities/cnda-adrtrois-dominique",
                       json={**NEW_PERSON, "nir": holder["active"]["number"]})
    assert taken.status_code == 409 and "cnda-adrtrois-toussaint" in taken.json["error"]


def test_delete_removes_the_person_from_insi_until_reset(client):
    assert code_cr(client, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26") == "00"
    response = client.delete("/_admin/identities/cnda-adrtrois-dominique")
    assert response.status_code == 204 and response.data == b""
    assert client.get("/_admin/identities/cnda-adrtrois-dominique").status_code == 404
    assert code_cr(client, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26") == "01"
    assert client.delete("/_admin/identities/cnda-adrtrois-dominique").status_code == 404
    client.post("/_admin/reset")
    assert code_cr(client, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26") == "00"


def test_runtime_changes_outlive_a_restart_with_another_identities_file(tmp_path):
    data = tmp_path / "data"
    vendor = tmp_path / "persons.csv"
    vendor.write_text(VENDOR_FILE)
    settings = Settings(data_dir=data, population=10, identities_file=vendor)
    first = Client(create_app(settings))
    assert first.post("/_admin/identities", json=NEW_PERSON).status_code == 201
    assert first.delete("/_admin/identities/cnda-adrtrois-dominique").status_code == 204

    other = tmp_path / "other.csv"
    other.write_text(OTHER_FILE)
    second = Client(create_app(settings.with_changes(identities_file=other)))
    assert code_cr(second, "GARNIER", "LUCIE", "F", "1985-07-14") == "00"  # the new file
    assert code_cr(second, "LEFEBVRE", "PAUL", "M", "1970-03-02") == "01"  # the old file
    assert code_cr(second, "DUPONT-MOREAU", "ANNE-SOPHIE", "F", "1988-04-09") == "00"
    assert code_cr(second, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26") == "01"

    second.post("/_admin/reset")  # the promise ends here
    assert code_cr(second, "DUPONT-MOREAU", "ANNE-SOPHIE", "F", "1988-04-09") == "01"
    assert code_cr(second, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26") == "00"
    third = Client(create_app(settings))  # and a later restart does not bring them back
    assert code_cr(third, "DUPONT-MOREAU", "ANNE-SOPHIE", "F", "1988-04-09") == "01"
