"""What the fund-flow pictures show, built from the read side: sources -> fund -> cohorts/uses.

A fund's picture nets every ledger line by what it is (a source party, an expenditure category, an
allocation's other fund, the fund's loans) so reversals cancel what they reverse, then puts what
came in on the left and what went out, plus what is still in the fund, on the right: both sides
sum to the same fen. A party's picture follows its cash to where it is now (the lineage model).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from api.ui.sankey import Link, Node
from projections.queries import CohortSummary, FundDetail, LedgerLine, PartyFlows, ReadModels

PAGE_LIMIT = 500
# The picture reads every line of a fund: big pages cost fewer queries (100k lines: 8.7 s -> 3.6 s).
LINES_PAGE_LIMIT = 5000
CACHED_FUNDS_MAX = 16
LINES_MAX = 200_000  # a picture of more lines than this would take too long to draw on request
PARTY_PAGES_MAX = 40
DESTINATIONS_PER_KIND_MAX = 6
LOAN_KINDS = frozenset({"loan", "repayment", "cohort_rollover"})
LOANS_KEY = "loans"
FUND_NOW_KEY = "fund-now"

Translate = Callable[[str], str]


@dataclass
class FundLines:
    """All of a fund's ledger lines, and the names of the counterparties they mention."""

    lines: list[LedgerLine] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


_cache: OrderedDict[tuple[str, int], FundLines] = OrderedDict()
_cache_lock = threading.Lock()


def fund_lines(reads: ReadModels, fund_id: str) -> FundLines:
    """The fund's lines, read once per store position (the page and its downloads share them)."""
    key = (fund_id, reads.position())
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    found = _read_fund_lines(reads, fund_id)
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > CACHED_FUNDS_MAX:
            _cache.popitem(last=False)
    return found


def _read_fund_lines(reads: ReadModels, fund_id: str) -> FundLines:
    found = FundLines()
    cursor: str | None = None
    while len(found.lines) < LINES_MAX:
        page = reads.ledger(fund_id, limit=LINES_PAGE_LIMIT, cursor=cursor)
        found.lines.extend(page.items)
        for line in page.items:
            if line.counterparty and line.counterparty_name:
                found.names[line.counterparty] = line.counterparty_name
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def party_names(reads: ReadModels) -> dict[str, str]:
    names: dict[str, str] = {}
    cursor: str | None = None
    for _ in range(PARTY_PAGES_MAX):
        page = reads.parties(limit=PAGE_LIMIT, cursor=cursor)
        names.update((party.id, party.name) for party in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return names


def _signed_fen(line: LedgerLine) -> int:
    if line.in_kind:
        return 0
    if line.direction == "in":
        return line.amount_fen
    if line.direction == "out":
        return -line.amount_fen
    return 0


def _group(line: LedgerLine, names: dict[str, str], t: Translate) -> tuple[str, str]:
    if line.kind in LOAN_KINDS:
        return LOANS_KEY, t("flow_loans")
    if line.kind == "expenditure":
        category = line.category or ""
        return f"category:{category}", category
    label = line.counterparty_name or names.get(line.counterparty, "") or line.counterparty[:8]
    return f"party:{line.counterparty}", label


def _net_groups(found: FundLines, t: Translate) -> tuple[dict[str, int], dict[str, str]]:
    """Fen per group, in minus out; a reversal counts against the group of what it reverses."""
    group_of: dict[str, str] = {}
    net_fen: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    for line in found.lines:
        if line.reverses is not None and line.reverses in group_of:
            key = group_of[line.reverses]
        else:
            key, label = _group(line, found.names, t)
            labels.setdefault(key, label)
        group_of[line.event_id] = key
        net_fen[key] += _signed_fen(line)
    return dict(net_fen), labels


def _cohort_split(
    loans_out_fen: int, cohorts: list[CohortSummary] | None
) -> list[tuple[str, int]] | None:
    """Loans out per cohort (principal less repaid), when the cohorts account for all of it."""
    if not cohorts:
        return None
    split = [(c.cohort, c.principal_fen - c.repaid_fen) for c in cohorts]
    if sum(fen for _, fen in split) != loans_out_fen:
        return None
    return [(cohort, fen) for cohort, fen in split if fen > 0]


def fund_flow(
    fund: FundDetail,
    found: FundLines,
    cohorts: list[CohortSummary] | None,
    t: Translate,
) -> tuple[list[Node], list[Link]]:
    net_fen, labels = _net_groups(found, t)
    nodes = [Node(fund.id, fund.name, 1)]
    links: list[Link] = []
    for key, fen in sorted(net_fen.items(), key=lambda item: -abs(item[1])):
        if fen > 0:
            nodes.append(Node(key, labels[key], 0))
            links.append(Link(key, fund.id, fen))
        elif fen < 0 and key == LOANS_KEY and (split := _cohort_split(-fen, cohorts)):
            for cohort, cohort_fen in split:
                node_key = f"cohort:{cohort}"
                nodes.append(Node(node_key, f"{t('flow_cohort')} {cohort}", 2))
                links.append(Link(fund.id, node_key, cohort_fen))
        elif fen < 0:
            nodes.append(Node(key, labels[key], 2))
            links.append(Link(fund.id, key, -fen))
    still_fen = sum(net_fen.values())
    if still_fen > 0:
        nodes.append(Node(FUND_NOW_KEY, t("flow_fund_now"), 2))
        links.append(Link(fund.id, FUND_NOW_KEY, still_fen))
    return nodes, links


def party_flow(
    party_id: str,
    party_name: str,
    flows: PartyFlows,
    fund_names: dict[str, str],
    t: Translate,
) -> tuple[list[Node], list[Link]]:
    """The party's cash -> where it is now, by kind (in funds, lent, granted, spent) -> where."""
    nodes = [Node(party_id, party_name, 0)]
    links: list[Link] = []
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for flow in flows.items:
        where = fund_names.get(flow.destination) or flow.detail or flow.destination[:8]
        by_kind[flow.destination_kind][where] += flow.amount_fen
    for kind, places in by_kind.items():
        kind_key = f"kind:{kind}"
        nodes.append(Node(kind_key, t(f"dest_{kind}"), 1))
        links.append(Link(party_id, kind_key, sum(places.values())))
        ranked = sorted(places.items(), key=lambda item: -item[1])
        shown, rest = ranked[:DESTINATIONS_PER_KIND_MAX], ranked[DESTINATIONS_PER_KIND_MAX:]
        if rest:
            shown.append((f"{t(f'dest_{kind}')} (+{len(rest)})", sum(fen for _, fen in rest)))
        for where, fen in shown:
            place_key = f"{kind}:{where}"
            nodes.append(Node(place_key, where, 2))
            links.append(Link(kind_key, place_key, fen))
    return nodes, links
