"""Client-chosen ids on feeds: the registry keeps a client's urn:uuid ids, so a feed
reusing one is refused in its RegistryResponse, not with a technical fault (found by
the DMP benchmark, whose feeds reuse their template's ids)."""
from __future__ import annotations

import re

from simulator.kit import xds
from dmp_builders.client import Dmp
from simulator.settings import parse_datetime

RS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"


def dmp_at(make_app, now: str) -> Dmp:
    dmp = Dmp(make_app(date=parse_datetime(now), frozen=True, population=0), now=now)
    dmp.create_dmp()
    return dmp


def test_a_feed_reusing_an_association_id_is_refused_in_band(make_app):
    dmp = dmp_at(make_app, "2024-03-01T08:30:00Z")
    fixed = "urn:uuid:3f1c2a9e-0b7d-4e55-9c1a-6d2e8f4b7a10"

    def feed(document: str, submission_set: str, signature: str):
        request = xds.provide_and_register((xds.Doc(unique_id=document),),
                                           set_unique_id=submission_set,
                                           signature_unique_id=signature)
        # A client choosing its own urn:uuid ids keeps them in the registry, so it must
        # not reuse one: here the first association's id is the same in both feeds.
        body = re.sub(r'(<Association [^>]*?id=")[^"]+"', rf'\g<1>{fixed}"', request.body,
                      count=1)
        return dmp.call("repository", body, xds.PNR_ACTION)

    assert feed("1.2.250.1.999.1.1.8121.21.8", "1.2.250.1.999.1.1.8121.7.8",
                "1.2.250.1.999.1.1.8121.9.8").body.get("status") == RS_SUCCESS
    again = feed("1.2.250.1.999.1.1.8121.21.9", "1.2.250.1.999.1.1.8121.7.9",
                 "1.2.250.1.999.1.1.8121.9.9")
    assert again.response.status_code == 200
    error = again.body.find(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError")
    assert (error.get("errorCode"), error.get("location")) == ("XDSRegistryMetadataError", fixed)
    assert dmp.http.application.simulator.store.dmp.count_documents() == 2  # the first feed
