"""The read side: read models rebuilt only from the event log (see docs/projections.md)."""
