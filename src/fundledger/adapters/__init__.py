"""Storage adapters: the event store on SQLite or PostgreSQL, extended with the audit chain and
the idempotency record, both written in the same transaction as the events they belong to."""
