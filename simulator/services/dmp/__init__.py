"""The DMP web services (API v1 and v2). So far: the VIHF reader and the access rules,
which the DMP endpoints will call."""
