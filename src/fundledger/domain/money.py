"""Money as integer fen with a currency; decimal strings only at the edges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from fundledger.domain.errors import CurrencyMismatch, InvalidAmount

FEN_PER_YUAN = 100
DEFAULT_CURRENCY = "CNY"
# 10^12 yuan is far beyond any real budget; a larger figure is a typo or an attack.
AMOUNT_FEN_MAX = 10**12 * FEN_PER_YUAN
# ASCII only: \d would also accept full-width and other scripts' digits, which int() reads.
_AMOUNT_PATTERN = re.compile(r"^(?P<yuan>\d{1,13})(?:\.(?P<fen>\d{1,2}))?$", re.ASCII)
_RATIO_PATTERN = re.compile(r"^\d{1,6}(?:\.\d{1,6})?$", re.ASCII)
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency, held as whole fen (minor units)."""

    amount_fen: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        # bool is an int subclass; True fen is a bug, not an amount.
        if type(self.amount_fen) is not int:
            raise InvalidAmount(f"amount must be whole fen, got {self.amount_fen!r}")
        if abs(self.amount_fen) > AMOUNT_FEN_MAX:
            raise InvalidAmount("amount is beyond the limit of 1,000,000,000,000.00")
        if not _CURRENCY_PATTERN.fullmatch(self.currency):
            raise InvalidAmount(f"currency must be a three-letter code, got {self.currency!r}")

    @classmethod
    def parse(cls, text: object, currency: str = DEFAULT_CURRENCY) -> Money:
        """Read a decimal string in yuan ("1100", "1100.5", "1100.50"); refuse floats."""
        return cls(parse_amount_fen(text), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(0, currency)

    def format(self) -> str:
        """Always two decimals: 1100.5 yuan is "1100.50"."""
        return format_fen(self.amount_fen)

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_fen + other.amount_fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_fen - other.amount_fen, self.currency)

    def times(self, ratio: Decimal) -> Money:
        """Scale by a ratio, rounding half up to the fen (one rule for matching and rollovers)."""
        return Money(scale_fen(self.amount_fen, ratio), self.currency)

    @property
    def is_positive(self) -> bool:
        return self.amount_fen > 0


def parse_amount_fen(text: object) -> int:
    """Parse a yuan amount given as a string into fen; floats and numbers are refused."""
    if not isinstance(text, str):
        raise InvalidAmount(
            f'amount must be a decimal string such as "1100.50", got {type(text).__name__}'
        )
    match = _AMOUNT_PATTERN.match(text.strip())
    if match is None:
        raise InvalidAmount(
            f"amount {text!r} is not a decimal string in yuan with at most two decimals"
        )
    fen_text = (match.group("fen") or "").ljust(2, "0")
    amount_fen = int(match.group("yuan")) * FEN_PER_YUAN + int(fen_text)
    if amount_fen > AMOUNT_FEN_MAX:
        raise InvalidAmount("amount is beyond the limit of 1,000,000,000,000.00")
    return amount_fen


def format_fen(amount_fen: int) -> str:
    """Format fen as yuan with exactly two decimals: 110050 -> "1100.50"."""
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}{yuan}.{fen:02d}"


def parse_ratio(text: object) -> Decimal:
    """Parse a ratio given as a decimal string ("0.5"); floats are refused."""
    if not isinstance(text, str) or not _RATIO_PATTERN.match(text.strip()):
        raise InvalidAmount(f'ratio must be a decimal string such as "0.5", got {text!r}')
    try:
        return Decimal(text.strip())
    except InvalidOperation as error:  # pragma: no cover - the pattern already guards
        raise InvalidAmount(f"ratio {text!r} is not a number") from error


def scale_fen(amount_fen: int, ratio: Decimal) -> int:
    """ratio × amount, rounded half up to a whole fen."""
    return int((Decimal(amount_fen) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP))
