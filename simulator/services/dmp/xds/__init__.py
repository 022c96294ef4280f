"""IHE XDS.b for the DMP: ebRIM metadata, CI-SIS rules, queries, updates, retrieval."""
