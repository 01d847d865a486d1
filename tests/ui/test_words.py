"""Every label exists in both languages, every label a template uses is known, yuan read right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.ui.i18n import LANGUAGES, MESSAGES, yuan
from api.ui.sankey import Link, Node, fit_label, render_svg

TEMPLATES = Path(__file__).parents[2] / "api" / "ui" / "templates"


def test_every_label_is_translated() -> None:
    """Each message has a non-empty text in every language."""
    missing = [
        (key, lang) for key, texts in MESSAGES.items() for lang in LANGUAGES if not texts.get(lang)
    ]
    assert missing == []


def test_every_label_a_template_asks_for_exists() -> None:
    """A literal t("key") in a template names a known message (no label shows as its key)."""
    used = {
        key
        for template in TEMPLATES.glob("*.html")
        for key in re.findall(r"""\bt\(["']([a-z_]+)["']\)""", template.read_text(encoding="utf-8"))
    }
    assert used
    assert used - MESSAGES.keys() == set()


@pytest.mark.parametrize(
    ("amount_fen", "shown"),
    [(110000, "¥1,100.00"), (0, "¥0.00"), (5, "¥0.05"), (-50050, "-¥500.50"),
     (123456789012, "¥1,234,567,890.12")],
)  # fmt: skip
def test_amounts_read_as_yuan_with_separators(amount_fen: int, shown: str) -> None:
    """Integer fen are written as ¥ with thousands separators and exactly two decimals."""
    assert yuan(amount_fen) == shown


def test_long_labels_are_shortened_to_fit() -> None:
    """A label too wide for its room ends with an ellipsis; a short one is left alone."""
    assert fit_label("Cattle fund", 180) == "Cattle fund"
    long = fit_label("Municipal Civil Affairs Bureau of a very long name indeed", 180)
    assert long.endswith("…")
    assert len(long) < 40


def test_an_empty_picture_is_still_a_picture() -> None:
    """With nothing moved the SVG has its title and no band."""
    svg = render_svg([Node("f", "Fund", 1)], [Link("a", "f", 0)], title="T", money=yuan)
    assert svg.startswith("<svg")
    assert "<path" not in svg


def test_names_in_the_picture_are_escaped() -> None:
    """A party named like markup cannot inject anything into the SVG."""
    nodes = [Node("p", "<script>alert(1)</script>", 0), Node("f", "Fund & co", 1)]
    svg = render_svg(nodes, [Link("p", "f", 100)], title="<b>", money=yuan)
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "Fund &amp; co" in svg
