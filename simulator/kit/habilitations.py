"""Bodies of the DMP ``habilitations`` service (TD0.3 and its lists, brief §2.3).

The patient is the VIHF's resource-id, not an element of the body. Example::

    from simulator.kit import habilitations, soap
    raw = soap.envelope(habilitations.set_authorization("AJOUT"),
                        action=habilitations.SET_AUTHORIZATION, service="habilitations",
                        issue_instant=now)
"""
from __future__ import annotations

HAB = "urn:si-dmp-habilitations"
SET_AUTHORIZATION = f"{HAB}:HabilitationsEndPoint:setAuthorization"
LIST_BY_PATIENT = f"{HAB}:HabilitationsEndPoint:listAuthorizationByPatient"


def set_authorization(action: str = "AJOUT", role: str | None = None) -> str:
    """TD0.3 setAuthorization: AJOUT or SUPPRESSION, with ``role`` MEDECIN_TRAITANT when
    asked."""
    role_xml = f"<h:role>{role}</h:role>" if role else ""
    return (f'<h:setAuthorization xmlns:h="{HAB}"><h:action>{action}</h:action>{role_xml}'
            "</h:setAuthorization>")


def list_by_patient(mode: str = "TOUTE") -> str:
    """listAuthorizationByPatient: the professionals authorised on the VIHF's patient."""
    return (f'<h:listAuthorizationByPatient xmlns:h="{HAB}"><h:mode>{mode}</h:mode>'
            "</h:listAuthorizationByPatient>")
