"""Money: whole fen inside, decimal strings in yuan at the edges, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fundledger.domain.errors import CurrencyMismatch, InvalidAmount
from fundledger.domain.money import AMOUNT_FEN_MAX, Money, format_fen, parse_ratio


@pytest.mark.parametrize(
    ("text", "amount_fen"),
    [("1100", 110_000), ("1100.5", 110_050), ("1100.50", 110_050), ("0.01", 1), ("0", 0)],
)
def test_decimal_strings_in_yuan_parse_to_whole_fen(text: str, amount_fen: int) -> None:
    """ "1100", "1100.5" and "1100.50" are read as whole fen."""
    assert Money.parse(text).amount_fen == amount_fen


@pytest.mark.parametrize("value", [1100.5, 1100.0, 1100, Decimal("1100.50"), None, True])
def test_anything_but_a_string_is_refused(value: object) -> None:
    """Floats, ints, Decimals and booleans are not amounts: only decimal strings are."""
    with pytest.raises(InvalidAmount):
        Money.parse(value)


@pytest.mark.parametrize(
    "text",
    ["1100.505", "1100.", ".5", "-5", "+5", "1e3", "1,100", "", "abc", "1100.5.0", "NaN"],
)
def test_malformed_amounts_are_refused(text: str) -> None:
    """Three decimals, signs, exponents, separators and words are refused."""
    with pytest.raises(InvalidAmount):
        Money.parse(text)


@pytest.mark.parametrize("text", ["１１００", "١١٠٠", "1100.５"])
def test_non_ascii_digits_are_refused(text: str) -> None:
    """Full-width or other scripts' digits are not the ASCII decimal strings of the contract."""
    with pytest.raises(InvalidAmount):
        Money.parse(text)


def test_formatting_always_shows_two_decimals() -> None:
    """Amounts leave as yuan with exactly two decimals: "1100.50", "0.05", "-3.00"."""
    assert Money.parse("1100.5").format() == "1100.50"
    assert Money(5).format() == "0.05"
    assert format_fen(-300) == "-3.00"
    assert str(Money.parse("12000")) == "12000.00 CNY"


def test_parse_and_format_round_trip() -> None:
    """Formatting then parsing gives back the same amount."""
    for amount_fen in (0, 1, 99, 100, 110_050, AMOUNT_FEN_MAX):
        assert Money.parse(Money(amount_fen).format()).amount_fen == amount_fen


def test_the_limit_is_a_trillion_yuan() -> None:
    """10^12 yuan is the largest amount; one fen more is refused, parsed or built."""
    assert Money.parse("1000000000000.00").amount_fen == AMOUNT_FEN_MAX
    with pytest.raises(InvalidAmount):
        Money.parse("1000000000000.01")
    with pytest.raises(InvalidAmount):
        Money(AMOUNT_FEN_MAX + 1)
    with pytest.raises(InvalidAmount):
        Money(-AMOUNT_FEN_MAX - 1)


def test_fen_must_be_an_int() -> None:
    """A Money of a float or a bool number of fen is refused."""
    with pytest.raises(InvalidAmount):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money(True)


@pytest.mark.parametrize("currency", ["cny", "CN", "CNYY", "1NY", "", "CNY\n"])
def test_currency_is_a_three_letter_upper_case_code(currency: str) -> None:
    """Currencies are ISO-style codes such as CNY or USD."""
    with pytest.raises(InvalidAmount):
        Money(100, currency)


def test_currency_defaults_to_cny_and_other_codes_are_kept() -> None:
    """CNY is the default; another code is carried along."""
    assert Money.parse("1").currency == "CNY"
    assert Money.parse("1", "USD").currency == "USD"


def test_currencies_are_never_mixed_in_arithmetic() -> None:
    """Adding or subtracting two currencies is a CurrencyMismatch."""
    assert Money(100) + Money(50) == Money(150)
    assert Money(100) - Money(50) == Money(50)
    with pytest.raises(CurrencyMismatch):
        Money(100) + Money(100, "USD")
    with pytest.raises(CurrencyMismatch):
        Money(100) - Money(100, "USD")


@pytest.mark.parametrize(
    ("amount_fen", "ratio", "scaled_fen"),
    [(110_000, "0.5", 55_000), (1, "0.5", 1), (3, "0.5", 2), (5, "0.1", 1), (4, "0.1", 0)],
)
def test_scaling_rounds_half_up_to_the_fen(amount_fen: int, ratio: str, scaled_fen: int) -> None:
    """ratio x amount is rounded half up to a whole fen."""
    assert Money(amount_fen).times(Decimal(ratio)).amount_fen == scaled_fen


def test_ratios_are_decimal_strings() -> None:
    """A ratio is read from a decimal string; floats and junk are refused."""
    assert parse_ratio("0.5") == Decimal("0.5")
    for bad in (0.5, "1/2", "-0.5", "", "0.5.1"):
        with pytest.raises(InvalidAmount):
            parse_ratio(bad)
