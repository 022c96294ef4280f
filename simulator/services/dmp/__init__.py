"""The DMP web services: shared pieces (VIHF, access rules, records, lifecycle,
authorisations, faults, the SOAP binding), the HL7 v3 messages (``hl7/``), IHE XDS.b
(``xds/``) and the API v2 services (``v2/``)."""
