"""Per-client behaviour: bounded state, and the pure signals computed from it."""
