"""Parties: everyone money comes from or goes to."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from eventsourcing.domain import Aggregate

from fundledger.domain.base import (
    NAME_LENGTH_MAX,
    LedgerCreated,
    require_business_date,
    require_note,
    require_text,
)
from fundledger.domain.errors import InvalidInput


class PartyKind(StrEnum):
    GOVERNMENT = "government"
    DONOR = "donor"
    HOUSEHOLD = "household"
    COOPERATIVE = "cooperative"
    VILLAGE = "village"
    VENDOR = "vendor"
    INDIVIDUAL = "individual"


def parse_party_kind(text: str) -> PartyKind:
    try:
        return PartyKind(text)
    except ValueError:
        kinds = ", ".join(kind.value for kind in PartyKind)
        raise InvalidInput(f"party kind {text!r} is not one of: {kinds}") from None


class Party(Aggregate):
    """A government body, donor, household, cooperative, village, vendor or individual."""

    name: str
    kind: str

    def __init__(self) -> None:
        """State comes from the Registered event (this stops the library deriving an __init__)."""

    class Registered(LedgerCreated):
        name: str
        kind: str

        def apply(self, aggregate: Party) -> None:
            aggregate.name = self.name
            aggregate.kind = self.kind

    @classmethod
    def register(
        cls, *, name: str, kind: str, actor: str, occurred_on: date, note: str = ""
    ) -> Party:
        return cls._create(
            cls.Registered,
            name=require_text(name, "name", NAME_LENGTH_MAX),
            kind=parse_party_kind(kind).value,
            actor=actor,
            occurred_on=require_business_date(occurred_on),
            note=require_note(note),
        )
