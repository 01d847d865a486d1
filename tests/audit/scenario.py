"""A small programme like the demo's, and raw SQL access to its store for tampering."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import psycopg

from fundledger.application import commands as c
from fundledger.application.ledger import FundLedger
from fundledger.audit.chain import GENESIS_HASH, link_hash
from fundledger.domain.money import Money

CLERK = c.CommandContext(actor="clerk")
ON = date(2015, 3, 1)


@dataclass(frozen=True)
class Programme:
    bureau: str
    cadre: str
    cattle_fund: str
    centre_fund: str
    households: list[str]


def record_programme(ledger: FundLedger, households: int = 3) -> Programme:
    """Siluogou's cattle fund in small: donations, an allocation, loans, a repayment, spending."""

    def run(command: Any) -> str:
        return ledger.execute(command, CLERK).resource_id

    bureau = run(c.RegisterParty("Municipal Civil Affairs Bureau", "government", ON))
    cadre = run(c.RegisterParty("Cadres of the bureau", "donor", ON))
    vendor = run(c.RegisterParty("Water works team", "vendor", ON))
    cattle = run(c.OpenFund("Cattle fund", "beef cattle", "6222-01", bureau, [], True, ON))
    centre = run(
        c.OpenFund(
            "Service centre", "village service centre", "6222-02", bureau, ["works"], False, ON
        )
    )
    run(c.RecordDonation(cattle, cadre, Money.parse("11950"), ON))
    run(c.RecordDonation(centre, bureau, Money.parse("88050"), ON))
    run(c.AllocateFunds(centre, cattle, Money.parse("20000"), date(2015, 4, 1), "cattle loans"))
    borrowers = [run(c.RegisterParty(f"Household {n}", "household", ON)) for n in range(households)]
    loans = [
        run(
            c.DisburseLoan(
                cattle, household, Money.parse("1100"), "2015", date(2015, 5, 1), date(2015, 12, 31)
            )
        )
        for household in borrowers
    ]
    run(c.RecordRepayment(loans[0], Money.parse("550"), date(2015, 12, 20)))
    voucher = {"number": "V-001", "date": "2015-06-01", "description": "pipes"}
    run(
        c.PayExpenditure(
            centre,
            vendor,
            Money.parse("300.50"),
            "works",
            voucher,
            date(2015, 6, 1),  # type: ignore[arg-type]
        )
    )
    run(c.PledgeMatchingGrant(cattle, bureau, Decimal("0.5"), Money.parse("1000"), ON))
    late = ledger.execute(
        c.RecordDonation(cattle, cadre, Money.parse("100"), date(2015, 7, 1)), CLERK
    )
    run(c.ReverseEvent(late.event_ids[0], "booked twice", date(2015, 7, 2)))
    goods = c.InKind("20 quilts", "20", "market price")
    run(c.RecordDonation(cattle, bureau, Money.parse("4000"), date(2015, 9, 1), goods))
    return Programme(bureau, cadre, cattle, centre, borrowers)


class RawStore:
    """Direct SQL on the store, as someone with write access to the database would use it."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.is_sqlite = database_url.startswith("sqlite")
        self.events = "stored_events" if self.is_sqlite else "fundledger_events"
        self.position = "rowid" if self.is_sqlite else "notification_id"

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.is_sqlite:
            conn = sqlite3.connect(urlsplit(self.url).path[1:])
            try:
                yield conn
                conn.commit()
            finally:
                conn.close()
        else:
            with psycopg.connect(self.url) as pg:
                yield pg

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (written with ? placeholders) and return its rows."""
        if not self.is_sqlite:
            statement = statement.replace("?", "%s")
        with self.connect() as conn:
            cursor = conn.execute(statement, tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

    def positions(self) -> list[int]:
        return [
            int(r[0]) for r in self.sql(f"SELECT {self.position} FROM {self.events} ORDER BY 1")
        ]

    def state(self, position: int) -> bytes:
        rows = self.sql(f"SELECT state FROM {self.events} WHERE {self.position} = ?", [position])
        return bytes(rows[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        self.sql(f"UPDATE {self.events} SET state = ? WHERE {self.position} = ?", [state, position])

    def flip_byte(self, position: int) -> None:
        """Change one byte of the event's stored state (an amount's digit, say)."""
        state = bytearray(self.state(position))
        date_at = state.index(b'"_data_":"', state.index(b'"occurred_on"')) + len(b'"_data_":"')
        state[date_at + 3] ^= 0x01  # the year's last digit: 2015 becomes 2014, still valid JSON
        self.set_state(position, bytes(state))

    def delete(self, position: int, *, with_link: bool = True) -> None:
        self.sql(f"DELETE FROM {self.events} WHERE {self.position} = ?", [position])
        if with_link:
            self.sql("DELETE FROM event_chain WHERE position = ?", [position])

    def insert_forged(self, originator_id: UUID | None = None) -> int:
        """A forged donation row appended without going through the recorder; its position."""
        originator = originator_id or uuid4()
        value = originator.hex if self.is_sqlite else str(originator)
        state = b'{"actor":"clerk","amount_fen":99900000}'
        topic = "fundledger.domain.fund:Fund.DonationReceived"
        self.sql(
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            [value, 1, topic, state],
        )
        return max(self.positions())

    def shift_up(self, from_position: int) -> None:
        """Move every event and link at or after `from_position` one position up."""
        for table, column in ((self.events, self.position), ("event_chain", "position")):
            self.sql(
                f"UPDATE {table} SET {column} = {column} + 1000000 WHERE {column} >= ?",
                [from_position],
            )
            self.sql(f"UPDATE {table} SET {column} = {column} - 999999 WHERE {column} >= 1000000")

    def insert_forged_with_link(self, position: int) -> None:
        """A forged event placed at `position` with a link that follows the one before it."""
        self.shift_up(position)
        originator = uuid4()
        topic = "fundledger.domain.fund:Fund.DonationReceived"
        state = b'{"actor":"clerk","amount_fen":99900000}'
        prev = self.link_before(position)
        digest = link_hash(
            prev,
            position=position,
            topic=topic,
            originator_id=originator,
            originator_version=1,
            state=state,
        )
        value = originator.hex if self.is_sqlite else str(originator)
        self.sql(
            f"INSERT INTO {self.events} ({self.position}, originator_id, originator_version, "
            "topic, state) VALUES (?, ?, ?, ?, ?)",
            [position, value, 1, topic, state],
        )
        self.sql(
            "INSERT INTO event_chain VALUES (?, ?, ?, ?, ?)",
            [position, str(originator), 1, prev, digest],
        )

    def link_before(self, position: int) -> bytes:
        rows = self.sql(
            "SELECT hash FROM event_chain WHERE position < ? ORDER BY position DESC LIMIT 1",
            [position],
        )
        return bytes(rows[0][0]) if rows else GENESIS_HASH

    def swap_events(self, first: int, second: int, *, with_links: bool = False) -> None:
        """Swap two event rows' positions (and their links' too, when asked)."""
        tables = [(self.events, self.position)]
        if with_links:
            tables.append(("event_chain", "position"))
        for table, column in tables:
            self.sql(f"UPDATE {table} SET {column} = -1 WHERE {column} = ?", [first])
            self.sql(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [first, second])
            self.sql(f"UPDATE {table} SET {column} = ? WHERE {column} = -1", [second])

    def truncate(self, from_position: int) -> None:
        self.sql(f"DELETE FROM {self.events} WHERE {self.position} >= ?", [from_position])
        self.sql("DELETE FROM event_chain WHERE position >= ?", [from_position])

    def rewrite_from(self, position: int) -> None:
        """Edit the event at `position`, then recompute every link after it so the chain holds."""
        self.flip_byte(position)
        prev = self.link_before(position)
        rows = self.sql(
            f"SELECT {self.position}, originator_id, originator_version, topic, state "
            f"FROM {self.events} WHERE {self.position} >= ? ORDER BY 1",
            [position],
        )
        for at, originator, version, topic, state in rows:
            digest = link_hash(
                prev,
                position=at,
                topic=topic,
                originator_id=str(originator),
                originator_version=version,
                state=bytes(state),
            )
            self.sql(
                "UPDATE event_chain SET prev_hash = ?, hash = ? WHERE position = ?",
                [prev, digest, at],
            )
            prev = digest
