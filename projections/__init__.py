"""The read side: read models rebuilt only from the event log (see docs/projections.md).

`open_read_models(database_url, source=ledger)` gives the `ReadModels` the API asks, with a
follower thread that keeps them at the head of the log.
"""

from projections.read_models import SqlReadModels, open_read_models

__all__ = ["SqlReadModels", "open_read_models"]
