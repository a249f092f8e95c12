"""Network facts about a client address: its autonomous system and what kind of network it is."""

from .asn import AsnDatabase, AsnInfo, load_asn_database, shipped_database

__all__ = ["AsnDatabase", "AsnInfo", "load_asn_database", "shipped_database"]
