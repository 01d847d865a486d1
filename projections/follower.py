"""Projections running live inside a process: catch up on start, then follow new events.

SQLite has no subscription, so the follower polls the log (PostgreSQL too: one cheap query per
interval). `poke()` wakes it at once, and `wait_for(position)` pokes and then blocks until the
read models reached that position: a client that just wrote can read its own write.
"""

from __future__ import annotations

import threading

import structlog

from projections.runner import ProjectionRunner

log = structlog.get_logger(__name__)

POLL_INTERVAL_S_DEFAULT = 0.2
# After a failed batch, wait this long before trying again (the database may be restarting).
RETRY_DELAY_S = 1.0


class Follower:
    """A background thread that keeps a runner's read models at the head of the log."""

    def __init__(
        self, runner: ProjectionRunner, poll_interval_s: float = POLL_INTERVAL_S_DEFAULT
    ) -> None:
        self.runner = runner
        self.poll_interval_s = poll_interval_s
        self.last_error: BaseException | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="projection-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def poke(self) -> None:
        """New events were written: look now instead of at the next poll."""
        self._wake.set()

    def position(self) -> int:
        return self.runner.position()

    def wait_for(self, position: int, timeout_s: float) -> bool:
        if self.runner.position() >= position:
            return True
        self.poke()
        with self._progress:
            return self._progress.wait_for(
                lambda: self.runner.position() >= position, timeout=timeout_s
            )

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                projected = self.runner.run_batch()
                self.last_error = None
            except Exception as error:  # keep following: the next poll retries the batch
                log.exception("projection.batch_failed")
                self.last_error = error
                self._stopping.wait(RETRY_DELAY_S)
                continue
            with self._progress:
                self._progress.notify_all()
            if projected == 0:
                self._wake.wait(self.poll_interval_s)
                self._wake.clear()
