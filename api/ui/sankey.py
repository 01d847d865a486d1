"""A server-rendered Sankey diagram: nodes in columns, bands whose widths are proportional to yuan.

Amounts stay integer fen; only the pixel geometry is fractional. A node is as tall as the larger of
what flows into it and out of it, so in a conserved picture (every yuan in goes somewhere) every
column is the same height. The PNG is the same SVG rasterised by resvg (a Rust wheel on PyPI that
needs no system library), so the two downloads never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape

import resvg_py

WIDTH_PX: Final = 960
HEIGHT_PX: Final = 420
MARGIN_PX: Final = 16
NODE_WIDTH_PX: Final = 14
NODE_GAP_PX: Final = 10
LABEL_ROOM_PX: Final = 190
TITLE_ROOM_PX: Final = 30
FONT: Final = "'Noto Sans CJK SC', 'WenQuanYi Zen Hei', 'Microsoft YaHei', sans-serif"
PALETTE: Final = ("#2f6f8f", "#b5651d", "#4f8a3a", "#8a3a6f", "#6f6a2f", "#3a5a8a", "#8a4f3a")


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    column: int


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    amount_fen: int


@dataclass(frozen=True)
class _Box:
    node: Node
    x_px: float
    y_px: float
    height_px: float
    amount_fen: int


def node_amounts_fen(nodes: Sequence[Node], links: Sequence[Link]) -> dict[str, int]:
    """Each node's size: the larger of its inflow and its outflow."""
    inflow: dict[str, int] = defaultdict(int)
    outflow: dict[str, int] = defaultdict(int)
    for link in links:
        outflow[link.source] += link.amount_fen
        inflow[link.target] += link.amount_fen
    return {node.key: max(inflow[node.key], outflow[node.key]) for node in nodes}


def _layout(nodes: Sequence[Node], links: Sequence[Link]) -> tuple[dict[str, _Box], float]:
    amounts = node_amounts_fen(nodes, links)
    columns: dict[int, list[Node]] = defaultdict(list)
    for node in nodes:
        columns[node.column].append(node)
    column_count = max(columns) + 1
    usable_px = HEIGHT_PX - 2 * MARGIN_PX - TITLE_ROOM_PX
    scale = min(
        (usable_px - NODE_GAP_PX * (len(column) - 1)) / max(1, sum(amounts[n.key] for n in column))
        for column in columns.values()
    )
    span_px = WIDTH_PX - 2 * MARGIN_PX - 2 * LABEL_ROOM_PX - NODE_WIDTH_PX
    boxes: dict[str, _Box] = {}
    for index, column in sorted(columns.items()):
        x_px = MARGIN_PX + LABEL_ROOM_PX + span_px * index / max(1, column_count - 1)
        column_px = sum(max(1.0, amounts[n.key] * scale) for n in column)
        column_px += NODE_GAP_PX * (len(column) - 1)
        y_px = MARGIN_PX + TITLE_ROOM_PX + (usable_px - column_px) / 2  # centred
        for node in column:
            height_px = max(1.0, amounts[node.key] * scale)
            boxes[node.key] = _Box(node, x_px, y_px, height_px, amounts[node.key])
            y_px += height_px + NODE_GAP_PX
    return boxes, scale


def _band(x0: float, y0: float, x1: float, y1: float, thickness: float) -> str:
    middle = (x0 + x1) / 2
    return (
        f"M{x0:.1f},{y0:.1f} C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} {x1:.1f},{y1:.1f} "
        f"L{x1:.1f},{y1 + thickness:.1f} C{middle:.1f},{y1 + thickness:.1f} "
        f"{middle:.1f},{y0 + thickness:.1f} {x0:.1f},{y0 + thickness:.1f} Z"
    )


def _bands(links: Sequence[Link], boxes: dict[str, _Box], scale: float) -> list[str]:
    out_offset: dict[str, float] = defaultdict(float)
    in_offset: dict[str, float] = defaultdict(float)
    colours: dict[str, str] = {}
    parts: list[str] = []
    for link in links:
        source, target = boxes[link.source], boxes[link.target]
        thickness = max(0.5, link.amount_fen * scale)
        y0 = source.y_px + out_offset[link.source]
        y1 = target.y_px + in_offset[link.target]
        out_offset[link.source] += thickness
        in_offset[link.target] += thickness
        colour = colours.setdefault(
            link.source if source.node.column == 0 else link.target,
            PALETTE[len(colours) % len(PALETTE)],
        )
        path = _band(source.x_px + NODE_WIDTH_PX, y0, target.x_px, y1, thickness)
        parts.append(
            f'<path d="{path}" fill="{colour}" fill-opacity="0.45" '
            f'data-source="{escape(link.source)}" data-target="{escape(link.target)}" '
            f'data-amount-fen="{link.amount_fen}"/>'
        )
    return parts


def _text_width_px(text: str) -> float:
    """A font-free estimate at 12px: CJK glyphs are square, Latin ones about half as wide."""
    return sum(12.0 if ord(char) > 0x2E80 else 6.8 for char in text)


def fit_label(label: str, width_px: float) -> str:
    """The label, shortened with an ellipsis when it would overrun the room beside its node."""
    if _text_width_px(label) <= width_px:
        return label
    while label and _text_width_px(label + "…") > width_px:
        label = label[:-1]
    return label.rstrip() + "…"


def _label(box: _Box, last_column: int, money: Callable[[int], str]) -> str:
    y_px = box.y_px + box.height_px / 2
    if box.node.column == last_column:
        x_px, anchor = box.x_px + NODE_WIDTH_PX + 6, "start"
    elif box.node.column == 0:
        x_px, anchor = box.x_px - 6, "end"
    else:
        x_px, anchor = box.x_px + NODE_WIDTH_PX + 6, "start"
    name = escape(fit_label(box.node.label, LABEL_ROOM_PX - 10))
    amount = escape(money(box.amount_fen))
    return (
        f'<text x="{x_px:.1f}" y="{y_px:.1f}" text-anchor="{anchor}" font-size="12" '
        'stroke="#ffffff" stroke-width="3" paint-order="stroke">'
        f'<tspan x="{x_px:.1f}" dy="-0.2em">{name}</tspan>'
        f'<tspan x="{x_px:.1f}" dy="1.2em" fill="#444">{amount}</tspan></text>'
    )


def render_svg(
    nodes: Sequence[Node], links: Sequence[Link], *, title: str, money: Callable[[int], str]
) -> str:
    """The diagram as a standalone SVG document (fonts named, no scripts, no external files)."""
    links = [link for link in links if link.amount_fen > 0]
    used = {link.source for link in links} | {link.target for link in links}
    nodes = [node for node in nodes if node.key in used]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{HEIGHT_PX}" '
        f'viewBox="0 0 {WIDTH_PX} {HEIGHT_PX}" font-family="{FONT}" role="img" '
        f'aria-label="{escape(title)}">'
    )
    parts = [head, f'<rect width="{WIDTH_PX}" height="{HEIGHT_PX}" fill="#ffffff"/>']
    parts.append(
        f'<text x="{MARGIN_PX}" y="{MARGIN_PX + 12}" font-size="15" font-weight="bold">'
        f"{escape(title)}</text>"
    )
    if nodes:
        boxes, scale = _layout(nodes, links)
        last_column = max(node.column for node in nodes)
        parts.extend(_bands(links, boxes, scale))
        for box in boxes.values():
            parts.append(
                f'<rect x="{box.x_px:.1f}" y="{box.y_px:.1f}" width="{NODE_WIDTH_PX}" '
                f'height="{box.height_px:.1f}" fill="#333333"/>'
            )
            parts.append(_label(box, last_column, money))
    parts.append("</svg>")
    return "\n".join(parts)


def render_png(svg: str) -> bytes:
    """The SVG rasterised at twice its size (crisp when printed)."""
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=2.0, background="#ffffff"))
