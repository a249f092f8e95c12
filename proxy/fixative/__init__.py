"""Fixative: a shield for artists' websites against AI scrapers."""

__version__ = "0.1.0"
