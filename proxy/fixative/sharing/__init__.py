"""Sharing state between several Fixative instances through Redis (or Valkey).

Optional: without `shared:` in the config every instance keeps its state in memory, as before.
"""
