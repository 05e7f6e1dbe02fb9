"""The interface catalogue: one data file per interface under data/ (see FORMAT.md)."""
