"""Builders of DMP requests as real clients send them (tests, docs, walk-through)."""
