"""Built-in demo portfolio: procedural artworks, the static site, and its origin server."""
