"""Writing a planned registration into the registry store (inside its transaction)."""
from __future__ import annotations

from datetime import datetime

from simulator.services.dmp.xds.errors import REGISTRY_METADATA_ERROR, XdsError, XdsFailure
from simulator.services.dmp.xds.model import DE_UNIQUE_ID, DEPRECATED, SS_UNIQUE_ID
from simulator.services.dmp.xds.registration import Registration
from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET, RegistryAccess


def store_registration(registry: RegistryAccess, registration: Registration, *, ins: str, feeder: str,
                       now: datetime) -> None:
    """Store the submission set, the entries with their bytes and the associations,
    and deprecate replaced entries. ``feeder`` (the VIHF NameID) is recorded as the
    author the DMP's "only the author deletes" and masking rules compare with."""
    submission_set = registration.submission_set
    registry.add_object(submission_set, kind=SUBMISSION_SET, ins=ins,
                        unique_id=submission_set.external(SS_UNIQUE_ID) or "",
                        author_id=feeder, registered_at=now)
    for entry in registration.entries:
        unique_id = entry.external(DE_UNIQUE_ID) or ""
        registry.add_object(entry, kind=DOCUMENT, ins=ins, unique_id=unique_id,
                            author_id=feeder, registered_at=now)
        registry.add_content(unique_id, entry.mime_type, registration.documents[entry.id])
    reused = [a.id for a in registration.associations if registry.association_exists(a.id)]
    if reused:  # client-chosen urn:uuid ids are kept, so they must be new
        raise XdsFailure([XdsError(REGISTRY_METADATA_ERROR, f"Association id {a_id} is "
                                   "already registered: use a new urn:uuid", a_id)
                          for a_id in reused])
    for association in registration.associations:
        registry.add_association(association)
    for entry_uuid in registration.deprecate:
        registry.set_status(entry_uuid, DEPRECATED)
