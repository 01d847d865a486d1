"""`ReadModels` over the read-model tables, and how a process opens them (and a follower).

    read_models = open_read_models(url, source=ledger)   # catches up, then follows in a thread
    read_models.wait_for(recorded.position, timeout_s=5)  # read-your-writes
    read_models.close()

With `follow=False` the process only reads (a `fundledger project --follow` worker elsewhere
keeps the tables fresh) and `wait_for` polls the tracking table.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fundledger.domain.errors import InvalidInput
from projections.audit_trail import AuditTrail
from projections.balances import AS_OF_SQL, Balances, as_of_params, balance_as_of_fen
from projections.catalog import Catalog
from projections.cohorts import Cohorts
from projections.compliance import Compliance as ComplianceModel
from projections.database import Cursor, Database, Row, open_database
from projections.follower import POLL_INTERVAL_S_DEFAULT, Follower
from projections.lineage import Lineage
from projections.model import ReadModel
from projections.queries import (
    AuditEvent,
    Balance,
    CohortSummary,
    Compliance,
    ComplianceCheck,
    Finding,
    Flow,
    FundDetail,
    FundSummary,
    LedgerLine,
    Page,
    PartyFlows,
    PartySummary,
    SourceShare,
)
from projections.runner import BATCH_SIZE_DEFAULT, TRACKING_TABLE, EventSource, ProjectionRunner
from projections.special_ledger import SpecialLedger

_NAME_MARK = re.compile(r"\{([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}")
WAIT_POLL_S = 0.02


def all_read_models() -> list[ReadModel]:
    """Every read model, in the order the runner feeds them."""
    return [
        Catalog(),
        Balances(),
        SpecialLedger(),
        ComplianceModel(),
        Cohorts(),
        Lineage(),
        AuditTrail(),
    ]


def select_read_models(names: Sequence[str] | None = None) -> list[ReadModel]:
    """The read models with these names (all when None); an unknown name is an error."""
    models = all_read_models()
    if names is None:
        return models
    known = {model.name: model for model in models}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"no read model named {', '.join(unknown)} (known: {', '.join(known)})")
    return [known[name] for name in names]


def open_runner(
    database: Database,
    source: EventSource,
    *,
    batch_size: int = BATCH_SIZE_DEFAULT,
    names: Sequence[str] | None = None,
) -> ProjectionRunner:
    """A runner over all read models, or over some (each model keeps its own position, so
    several runners, in several processes, can share the work)."""
    runner = ProjectionRunner(database, source, select_read_models(names), batch_size=batch_size)
    runner.setup()
    return runner


def open_read_models(
    database_url: str,
    source: EventSource | None = None,
    *,
    follow: bool = True,
    batch_size: int = BATCH_SIZE_DEFAULT,
    poll_interval_s: float = POLL_INTERVAL_S_DEFAULT,
) -> SqlReadModels:
    """Read models on the events' database; with `follow`, a thread keeps them at the head."""
    database = open_database(database_url)
    if not follow:
        ProjectionRunner(database, _NoSource(), all_read_models()).setup_for_reading()
        return SqlReadModels(database)
    if source is None:
        raise ValueError("following the log needs the ledger (source=) to read events from")
    follower = Follower(open_runner(database, source, batch_size=batch_size), poll_interval_s)
    follower.start()
    return SqlReadModels(database, follower)


class _NoSource:
    """Set-up reads no events."""

    recorder: Any = None
    mapper: Any = None


class SqlReadModels:
    """The `projections.queries.ReadModels` the API, CLI and pages ask."""

    def __init__(self, database: Database, follower: Follower | None = None) -> None:
        self.database = database
        self.follower = follower
        self._model_names = [model.name for model in all_read_models()]

    def close(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.database.close()

    def __enter__(self) -> SqlReadModels:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- freshness -------------------------------------------------------------------------------

    def position(self) -> int:
        if self.follower is not None:
            return self.follower.position()
        with self.database.read() as cursor:
            rows = cursor.execute(f"SELECT read_model, position FROM {TRACKING_TABLE}")
        positions: dict[str, int] = {str(name): int(position) for name, position in rows}
        return min((int(positions.get(name, 0)) for name in self._model_names), default=0)

    def wait_for(self, position: int, timeout_s: float) -> bool:
        if self.follower is not None:
            return self.follower.wait_for(position, timeout_s)
        deadline = time.monotonic() + timeout_s
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_POLL_S)
        return True

    def poke(self) -> None:
        """Tell the in-process follower new events are there (no-op without one)."""
        if self.follower is not None:
            self.follower.poke()

    # ---- catalog ---------------------------------------------------------------------------------

    def funds(
        self, *, visible: Collection[str] | None, limit: int, cursor: str | None
    ) -> Page[FundSummary]:
        after = _position_cursor(cursor)
        sql = (
            "SELECT fund_id, name, purpose, revolving, balance_fen, currency, position "
            "FROM rm_funds WHERE position > ?"
        )
        params: list[Any] = [after]
        if visible is not None:
            if not visible:
                return Page([], None)
            sql += f" AND fund_id IN ({','.join('?' * len(visible))})"
            params.extend(visible)
        sql += " ORDER BY position LIMIT ?"
        params.append(limit + 1)
        with self.database.read() as db:
            rows = db.execute(sql, params)
        items = [FundSummary(r[0], r[1], r[2], bool(r[3]), int(r[4]), r[5]) for r in rows[:limit]]
        return Page(items, str(rows[limit - 1][6]) if len(rows) > limit else None)

    def fund(self, fund_id: str) -> FundDetail | None:
        with self.database.read() as db:
            rows = db.execute(
                "SELECT fund_id, name, purpose, revolving, balance_fen, currency, bank_account, "
                "custodian_id, allowed_categories, version, in_kind_value_fen "
                "FROM rm_funds WHERE fund_id = ?",
                (fund_id,),
            )
        if not rows:
            return None
        r = rows[0]
        return FundDetail(
            id=r[0],
            name=r[1],
            purpose=r[2],
            revolving=bool(r[3]),
            balance_fen=int(r[4]),
            currency=r[5],
            bank_account=r[6],
            custodian=r[7],
            allowed_categories=list(json.loads(r[8])),
            version=int(r[9]),
            in_kind_value_fen=int(r[10]),
        )

    def parties(self, *, limit: int, cursor: str | None) -> Page[PartySummary]:
        with self.database.read() as db:
            rows = db.execute(
                "SELECT party_id, name, kind, position FROM rm_parties WHERE position > ? "
                "ORDER BY position LIMIT ?",
                (_position_cursor(cursor), limit + 1),
            )
        items = [PartySummary(r[0], r[1], r[2]) for r in rows[:limit]]
        return Page(items, str(rows[limit - 1][3]) if len(rows) > limit else None)

    # ---- balances and the special ledger ---------------------------------------------------------

    def balance(self, fund_id: str, as_of: date | None) -> Balance | None:
        # One statement, no transaction around it: one round trip on PostgreSQL.
        with self.database.read(snapshot=False) as db:
            if as_of is None:
                rows = db.execute(
                    "SELECT balance_fen, currency FROM rm_funds WHERE fund_id = ?", (fund_id,)
                )
            else:
                rows = db.execute(
                    f"SELECT {AS_OF_SQL}, currency FROM rm_funds WHERE fund_id = ?",
                    (*as_of_params(fund_id, as_of), fund_id),
                )
        if not rows:
            return None
        return Balance(fund_id, as_of, int(rows[0][0]), rows[0][1])

    def ledger(
        self,
        fund_id: str,
        *,
        limit: int,
        cursor: str | None,
        date_from: date | None = None,
        date_to: date | None = None,
        category: str | None = None,
        counterparty: str | None = None,
    ) -> Page[LedgerLine]:
        sql, params = _ledger_query(fund_id, cursor, date_from, date_to, category, counterparty)
        filtered = any(x is not None for x in (date_from, date_to, category, counterparty))
        with self.database.read() as db:
            if not db.execute("SELECT 1 FROM rm_funds WHERE fund_id = ?", (fund_id,)):
                return Page([], None)
            rows = db.execute(sql + " LIMIT ?", [*params, limit + 1])
            page = rows[:limit]
            running = _running_balances(db, fund_id, page, contiguous=not filtered)
            reversed_by = _reversed_by(db, [r[3] for r in page])
            names = _names(db, [r[7] for r in page])
        items = [
            _ledger_line(r, running_fen, reversed_by.get(r[3]), names)
            for r, running_fen in zip(page, running, strict=True)
        ]
        next_cursor = f"{page[-1][0]}|{page[-1][1]}" if len(rows) > limit else None
        return Page(items, next_cursor)

    # ---- three specialized and closed ------------------------------------------------------------

    def compliance(self, fund_id: str) -> Compliance | None:
        with self.database.read() as db:
            return _compliance(db, fund_id)

    # ---- cohorts and lineage ---------------------------------------------------------------------

    def cohorts(self, fund_id: str, today: date | None = None) -> list[CohortSummary] | None:
        """Cohorts of a fund; a loan is overdue when still owed after its due date."""
        day = (today or date.today()).isoformat()
        with self.database.read() as db:
            if not db.execute("SELECT 1 FROM rm_funds WHERE fund_id = ?", (fund_id,)):
                return None
            rows = db.execute(
                "SELECT cohort, COUNT(*), SUM(principal_fen), SUM(repaid_fen), SUM(granted_fen), "
                "SUM(CASE WHEN due_on < ? THEN principal_fen - repaid_fen - granted_fen "
                "ELSE 0 END), MIN(position) "
                "FROM rm_loans WHERE fund_id = ? AND cancelled = 0 GROUP BY cohort "
                "ORDER BY MIN(position)",
                (day, fund_id),
            )
            funding = db.execute(
                "SELECT cohort, funded_by, amount_fen FROM rm_cohort_funding "
                "WHERE fund_id = ? AND amount_fen <> 0 ORDER BY cohort, funded_by",
                (fund_id,),
            )
        funded: dict[str, dict[str, int]] = {}
        for cohort, funded_by, amount_fen in funding:
            funded.setdefault(cohort, {})[funded_by] = int(amount_fen)
        return [_cohort(r, funded.get(r[0], {})) for r in rows]

    def flows(self, party_id: str) -> PartyFlows | None:
        with self.database.read() as db:
            if not db.execute("SELECT 1 FROM rm_parties WHERE party_id = ?", (party_id,)):
                return None
            given = db.execute(
                "SELECT given_fen, in_kind_fen FROM rm_lineage_given WHERE party_id = ?",
                (party_id,),
            )
            holdings = db.execute(
                "SELECT h.holder, h.amount_fen, l.fund_id, l.cohort FROM rm_lineage_holdings h "
                "LEFT JOIN rm_lineage_loans l ON h.holder = 'loan:' || l.loan_id "
                "WHERE h.party_id = ? AND h.amount_fen <> 0",
                (party_id,),
            )
            flows = _flows(holdings)
            names = _names(db, [flow.detail for flow in flows])
        given_fen, in_kind_fen = (int(given[0][0]), int(given[0][1])) if given else (0, 0)
        items = [
            Flow(f.destination_kind, f.destination, f.amount_fen, _render(f.detail, names))
            for f in flows
        ]
        return PartyFlows(party_id, given_fen, items, in_kind_fen=in_kind_fen)

    def sources(self, fund_id: str) -> list[SourceShare] | None:
        with self.database.read() as db:
            if not db.execute("SELECT 1 FROM rm_funds WHERE fund_id = ?", (fund_id,)):
                return None
            rows = db.execute(
                "SELECT party_id, amount_fen FROM rm_lineage_holdings WHERE holder = ? "
                "AND amount_fen <> 0 ORDER BY amount_fen DESC, party_id",
                (f"fund:{fund_id}",),
            )
        return [SourceShare(party, int(fen)) for party, fen in rows]

    # ---- audit trail -----------------------------------------------------------------------------

    def audit_events(self, *, limit: int, cursor: str | None) -> Page[AuditEvent]:
        with self.database.read() as db:
            rows = db.execute(
                "SELECT a.position, a.event_id, a.type, a.originator_id, a.occurred_on, "
                "a.recorded_at, a.actor, a.summary, c.hash, c.prev_hash "
                "FROM rm_audit_events a LEFT JOIN event_chain c ON c.position = a.position "
                "WHERE a.position > ? ORDER BY a.position LIMIT ?",
                (_position_cursor(cursor), limit + 1),
            )
            page = rows[:limit]
            names = _names(db, [r[7] for r in page])
        items = [
            AuditEvent(
                position=int(r[0]),
                event_id=r[1],
                type=r[2],
                originator_id=r[3],
                occurred_on=date.fromisoformat(r[4]) if r[4] else None,
                recorded_at=datetime.fromisoformat(r[5]),
                actor=r[6],
                summary=_render(r[7], names),
                hash=bytes(r[8]).hex() if r[8] is not None else "",
                prev_hash=bytes(r[9]).hex() if r[9] is not None else "",
            )
            for r in page
        ]
        return Page(items, str(page[-1][0]) if len(rows) > limit else None)


# ---- helpers (pure, or one query each) -----------------------------------------------------------


# Store positions are 64-bit signed integers on both stores; a larger cursor was never given out.
POSITION_MAX = 2**63 - 1


def _position_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    return _parse_position(cursor, cursor)


def _parse_position(text: str, cursor: str) -> int:
    try:
        position = int(text)
    except ValueError:
        position = -1
    if not 0 <= position <= POSITION_MAX:
        raise InvalidInput(f"cursor {cursor!r} is not one this list gave out")
    return position


def _names(db: Cursor, texts: Iterable[str]) -> dict[str, str]:
    """Names of the parties and funds marked `{uuid}` (or given bare) in `texts`."""
    ids: set[str] = set()
    for text in texts:
        ids.update(_NAME_MARK.findall(text) or ([text] if len(text) == 36 else []))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        f"SELECT party_id, name FROM rm_parties WHERE party_id IN ({marks}) "
        f"UNION ALL SELECT fund_id, name FROM rm_funds WHERE fund_id IN ({marks})",
        [*ids, *ids],
    )
    return {row[0]: row[1] for row in rows}


def _render(text: str, names: dict[str, str]) -> str:
    return _NAME_MARK.sub(lambda m: names.get(m.group(1), m.group(1)), text)


LEDGER_COLUMNS = (
    "occurred_on, position, cash_fen, event_id, kind, amount_fen, direction, counterparty, "
    "category, voucher, in_kind, reverses, note"
)


def _ledger_query(  # noqa: PLR0917 - the filters of the ledger query, in order
    fund_id: str,
    cursor: str | None,
    date_from: date | None,
    date_to: date | None,
    category: str | None,
    counterparty: str | None,
) -> tuple[str, list[Any]]:
    sql = f"SELECT {LEDGER_COLUMNS} FROM rm_ledger_lines WHERE fund_id = ?"
    params: list[Any] = [fund_id]
    if cursor:
        day, _, position = cursor.partition("|")
        try:
            date.fromisoformat(day)
        except ValueError:
            raise InvalidInput(f"cursor {cursor!r} is not one this list gave out") from None
        after = _parse_position(position, cursor)
        sql += " AND (occurred_on > ? OR (occurred_on = ? AND position > ?))"
        params += [day, day, after]
    for clause, value in (
        ("occurred_on >= ?", date_from.isoformat() if date_from else None),
        ("occurred_on <= ?", date_to.isoformat() if date_to else None),
        ("category = ?", category),
        ("counterparty = ?", counterparty),
    ):
        if value is not None:
            sql += f" AND {clause}"
            params.append(value)
    return sql + " ORDER BY occurred_on, position", params


def _running_balances(db: Cursor, fund_id: str, rows: Sequence[Row], contiguous: bool) -> list[int]:
    """The fund's cash after each row, in business-date order (whatever the filter shows)."""
    running: list[int] = []
    previous: Row | None = None
    for row in rows:
        day, position, cash_fen = row[0], int(row[1]), int(row[2])
        if contiguous and previous is not None and previous[0] == day:
            running.append(running[-1] + cash_fen)
        else:
            day_before = date.fromisoformat(day) - timedelta(days=1)
            earlier_same_day = db.execute(
                "SELECT COALESCE(SUM(cash_fen), 0) FROM rm_ledger_lines "
                "WHERE fund_id = ? AND occurred_on = ? AND position < ?",
                (fund_id, day, position),
            )
            base_fen = balance_as_of_fen(db, fund_id, day_before)
            running.append(base_fen + int(earlier_same_day[0][0]) + cash_fen)
        previous = row
    return running


def _reversed_by(db: Cursor, event_ids: list[str]) -> dict[str, str]:
    if not event_ids:
        return {}
    marks = ",".join("?" * len(event_ids))
    rows = db.execute(
        f"SELECT reverses, event_id FROM rm_ledger_lines WHERE reverses IN ({marks})", event_ids
    )
    return {row[0]: row[1] for row in rows}


def _ledger_line(
    row: Row, running_fen: int, reversed_by: str | None, names: dict[str, str]
) -> LedgerLine:
    return LedgerLine(
        event_id=row[3],
        occurred_on=date.fromisoformat(row[0]),
        kind=row[4],
        amount_fen=int(row[5]),
        direction=row[6],
        counterparty=row[7],
        running_balance_fen=running_fen,
        category=row[8],
        voucher=json.loads(row[9]) if row[9] else None,
        in_kind=bool(row[10]),
        reverses=row[11],
        reversed_by=reversed_by,
        note=row[12],
        counterparty_name=names.get(row[7], ""),
    )


def _cohort(row: Row, funded_by_fen: dict[str, int]) -> CohortSummary:
    cohort, loans, principal_fen, repaid_fen, granted_fen, overdue_fen = row[:6]
    principal_fen, repaid_fen, granted_fen = int(principal_fen), int(repaid_fen), int(granted_fen)
    rate = Decimal(repaid_fen) / Decimal(principal_fen) if principal_fen else Decimal(0)
    return CohortSummary(
        cohort=cohort,
        loans=int(loans),
        principal_fen=principal_fen,
        repaid_fen=repaid_fen,
        granted_fen=granted_fen,
        outstanding_fen=principal_fen - repaid_fen - granted_fen,
        overdue_fen=int(overdue_fen),
        repayment_rate=str(rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
        funded_by=sorted(funded_by_fen),
        funded_by_fen=funded_by_fen,
    )


_KINDS = {"fund": "fund", "loan": "loan", "grant": "grant", "spent": "expenditure"}


def _flows(holdings: Sequence[Row]) -> list[Flow]:
    """A party's holdings as flows: loans summed per cohort, detail naming the place."""
    totals: dict[tuple[str, str, str], int] = {}
    for holder, amount_fen, loan_fund, loan_cohort in holdings:
        kind, _, place = str(holder).partition(":")
        if kind == "loan":
            key = (
                "loan",
                f"{loan_fund}/{loan_cohort}",
                f"lent to cohort {loan_cohort} of {{{loan_fund}}}",
            )
        elif kind == "fund":
            key = ("fund", place, f"held in {{{place}}}")
        elif kind == "refund":
            key = ("expenditure", f"{place}/refund", f"refunded from {{{place}}} by a reversal")
        else:
            fund_id, _, what = place.partition("/")
            label = f"granted to cohort {what}" if kind == "grant" else f"spent on {what}"
            key = (_KINDS[kind], place, f"{label} from {{{fund_id}}}")
        totals[key] = totals.get(key, 0) + int(amount_fen)
    order = {"fund": 0, "loan": 1, "grant": 2, "expenditure": 3}
    return [
        Flow(kind, destination, fen, detail)
        for (kind, destination, detail), fen in sorted(
            totals.items(), key=lambda item: (order[item[0][0]], item[0][1])
        )
        if fen
    ]


def _compliance(db: Cursor, fund_id: str) -> Compliance | None:
    funds = db.execute(
        "SELECT bank_account, opened_on, custodian_id, allowed_categories, outflows, "
        "expenditures, expenditures_in_order, reversals, reversals_with_reason "
        "FROM rm_compliance_funds WHERE fund_id = ?",
        (fund_id,),
    )
    if not funds:
        return None
    record = funds[0]
    findings = [
        Finding(part, message, list(json.loads(ids)))
        for part, message, ids in db.execute(
            "SELECT part, message, event_ids FROM rm_compliance_findings WHERE fund_id = ? "
            "ORDER BY position",
            (fund_id,),
        )
    ]
    account, account_findings = _special_account(db, fund_id, str(record[0]))
    ledger, ledger_findings = _special_ledger(db, fund_id)
    findings = account_findings + ledger_findings + findings
    personnel = _special_personnel(db, fund_id, record)
    closed = ComplianceCheck(
        ok=not any(f.part == "closed_operation" for f in findings),
        details={
            "allowed_categories": list(json.loads(record[3])),
            "outflows": int(record[4]),
            "expenditures": int(record[5]),
            "expenditures_in_allowed_category_with_voucher": int(record[6]),
            "reversals": int(record[7]),
            "reversals_with_reason": int(record[8]),
        },
    )
    personnel_ok = not any(f.part == "special_personnel" for f in findings)
    names = _names(db, [f.message for f in findings])
    return Compliance(
        fund_id=fund_id,
        special_account=account,
        special_ledger=ledger,
        special_personnel=ComplianceCheck(ok=personnel_ok, details=personnel),
        closed_operation=closed,
        findings=[Finding(f.part, _render(f.message, names), f.event_ids) for f in findings],
    )


def _special_account(
    db: Cursor, fund_id: str, bank_account: str
) -> tuple[ComplianceCheck, list[Finding]]:
    findings: list[Finding] = []
    if not bank_account.strip():
        findings.append(Finding("special_account", "the fund has no bank account on record"))
    statements = db.execute(
        "SELECT occurred_on, balance_fen, event_id FROM rm_bank_statements WHERE fund_id = ? "
        "ORDER BY occurred_on DESC, position DESC LIMIT 1",
        (fund_id,),
    )
    details: dict[str, object] = {"bank_account": bank_account, "last_statement": None}
    if statements:
        day, statement_fen, event_id = statements[0]
        ledger_fen = balance_as_of_fen(db, fund_id, date.fromisoformat(day))
        details["last_statement"] = {
            "event_id": event_id,
            "occurred_on": day,
            "statement_balance_fen": int(statement_fen),
            "ledger_balance_fen": ledger_fen,
            "difference_fen": int(statement_fen) - ledger_fen,
        }
        details["reconciled"] = int(statement_fen) == ledger_fen
        if int(statement_fen) != ledger_fen:
            findings.append(
                Finding(
                    "special_account",
                    f"the bank statement of {day} shows {_yuan(int(statement_fen))} but the "
                    f"ledger holds {_yuan(ledger_fen)} at the end of that day "
                    f"(difference {_yuan(int(statement_fen) - ledger_fen)})",
                    [event_id],
                )
            )
    return ComplianceCheck(ok=not findings, details=details), findings


def _special_ledger(db: Cursor, fund_id: str) -> tuple[ComplianceCheck, list[Finding]]:
    """Every allocation names both sides, and the other side says the same."""
    rows = db.execute(
        "SELECT s.allocation_id, s.side, s.event_id, s.amount_fen, s.counterpart_event_id, "
        "o.event_id, o.amount_fen, o.fund_id, s.other_fund_id FROM rm_allocation_sides s "
        "LEFT JOIN rm_allocation_sides o ON o.allocation_id = s.allocation_id AND o.side <> s.side "
        "WHERE s.fund_id = ? ORDER BY s.position",
        (fund_id,),
    )
    findings: list[Finding] = []
    for _, side, event_id, amount_fen, counterpart, other_id, other_fen, other_fund, named in rows:
        if other_id is None:
            problem = f"allocation {event_id} ({side}) has no other side in {{{named}}}"
        elif other_id != counterpart or other_fund != named or other_fen != amount_fen:
            problem = f"allocation {event_id} ({side}) and {other_id} do not agree"
        else:
            continue
        findings.append(Finding("special_ledger", problem, [event_id]))
    paired = len(rows) - len(findings)
    lines = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(cash_fen), 0) FROM rm_ledger_lines WHERE fund_id = ?",
        (fund_id,),
    )
    balance = db.execute("SELECT balance_fen FROM rm_funds WHERE fund_id = ?", (fund_id,))
    balance_fen = int(balance[0][0]) if balance else 0
    if int(lines[0][1]) != balance_fen:
        findings.append(
            Finding(
                "special_ledger",
                f"the ledger's lines sum to {_yuan(int(lines[0][1]))} but the fund holds "
                f"{_yuan(balance_fen)}",
            )
        )
    details: dict[str, object] = {
        "ledger_lines": int(lines[0][0]),
        "allocations": len(rows),
        "allocations_with_both_sides": paired,
        "ledger_balance_fen": int(lines[0][1]),
    }
    return ComplianceCheck(ok=not findings, details=details), findings


def _special_personnel(db: Cursor, fund_id: str, record: Row) -> dict[str, object]:
    handovers = db.execute(
        "SELECT occurred_on, previous_custodian_id, custodian_id, event_id "
        "FROM rm_custody_handovers WHERE fund_id = ? ORDER BY occurred_on, position",
        (fund_id,),
    )
    return {
        "custodian": record[2],
        "since": handovers[-1][0] if handovers else record[1],
        "opened_on": record[1],
        "handovers": [
            {"occurred_on": h[0], "from": h[1], "to": h[2], "event_id": h[3]} for h in handovers
        ],
    }


def _yuan(amount_fen: int) -> str:
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), 100)
    return f"{sign}{yuan}.{fen:02d} yuan"
