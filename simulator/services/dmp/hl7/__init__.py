"""HL7 v3 patient messages of the DMP ``patients`` service (TD0.2, TD1.x): parsing and rendering."""
