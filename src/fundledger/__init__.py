"""fundledger: the write side of an event-sourced ledger of poverty-alleviation funds."""

__version__ = "0.1.0"
