"""The tamper-evident chain over the event log: its encoding and its verification."""
