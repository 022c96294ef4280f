"""The stored form of a registry object, made before the write lock (issue 15): the
columns the registry selects on, its JSON, and its answer fragment
(:mod:`.fragments`). Shared by the service (which prepares a feed's rows before taking
the lock) and the store adapters (which write and query them)."""
from __future__ import annotations

import json
from datetime import datetime

from simulator.ports.dmp import DOCUMENT
from simulator.services.dmp.xds.fragments import object_fragment
from simulator.services.dmp.xds.model import (
    DE_CLASS_CODE, DE_CONFIDENTIALITY, DE_PATIENT_ID, DOCUMENT_ENTRY_TYPE, SS_PATIENT_ID,
    Association, RegistryObject)
from simulator.services.dmp.xds.query_engine import patient_key


def query_columns(obj: RegistryObject, kind: str) -> tuple[str | None, str | None]:
    """(query_time, class_code) of an object, as stored beside its JSON."""
    if kind == DOCUMENT:
        code = obj.code(DE_CLASS_CODE)
        return obj.slot("creationTime"), code.code if code else None
    return obj.slot("submissionTime"), None


# Separators of class_keys and patient_key: control characters XML 1.0 text cannot hold.
US, RS = "\x1f", "\x1e"
MASQUE_PS = "MASQUE_PS"  # the confidentiality code that masks a document (access.py)


def find_columns(obj: RegistryObject, kind: str) -> tuple:
    """(patient_key, object_type, masked, class_keys) of an object."""
    scheme = DE_PATIENT_ID if kind == DOCUMENT else SS_PATIENT_ID
    classes = [f"{c.code}{RS}{c.scheme}" for c in obj.codes(DE_CLASS_CODE)]
    return (RS.join(patient_key(obj.external(scheme))),
            (obj.object_type or DOCUMENT_ENTRY_TYPE) if kind == DOCUMENT else obj.object_type,
            int(any(c.code == MASQUE_PS for c in obj.codes(DE_CONFIDENTIALITY))),
            US + US.join(classes) + US if classes else "")



def prepare_object(obj: RegistryObject, *, kind: str, ins: str, unique_id: str,
                   author_id: str, registered_at: datetime) -> tuple:
    """The row of a new registry object, its JSON and answer fragment rendered: the work
    a feed does before it takes the write lock."""
    return (obj.id, kind, ins, unique_id, obj.lid or obj.id, int(obj.version or 1),
            obj.status, author_id, registered_at.isoformat(), *query_columns(obj, kind),
            json.dumps(obj.to_dict()), *find_columns(obj, kind), object_fragment(obj))


def association_row(association: Association) -> tuple[str, str, str, str]:
    """(id, source, target, JSON) of an association, as stored."""
    return (association.id, association.source, association.target,
            json.dumps(association.to_dict()))
