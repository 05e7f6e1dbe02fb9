"""Profiles: what the engine generates for each security tag from a snap and its connections."""
