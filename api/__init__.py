"""The HTTP face: translates HTTP to commands and queries (see docs/architecture.md)."""
