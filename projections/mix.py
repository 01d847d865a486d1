"""Money as a mix of its sources, split pro rata in whole fen by the largest-remainder method."""

from __future__ import annotations

import heapq
from collections.abc import Mapping

Mix = dict[str, int]  # source -> fen


def split_pro_rata(amount_fen: int, mix: Mapping[str, int]) -> Mix:
    """`amount_fen` of `mix`, shared in proportion to each source's fen.

    Each source gets the floor of its exact share; the fen left over go one each to the largest
    remainders (ties: the smaller source id first). The parts sum exactly to `amount_fen` and no
    part exceeds what the source holds.
    """
    total_fen = sum(mix.values())
    if not 0 <= amount_fen <= total_fen:
        raise ValueError(f"cannot take {amount_fen} fen from a mix of {total_fen} fen")
    if amount_fen == total_fen:
        return {source: held for source, held in mix.items() if held}
    if len(mix) == 1:  # the common case of a fund with one source: nothing to share out
        return dict.fromkeys(mix, amount_fen) if amount_fen else {}
    parts: Mix = {}
    remainders: list[tuple[int, str]] = []
    allotted_fen = 0
    for source, held_fen in mix.items():
        part_fen, remainder = divmod(amount_fen * held_fen, total_fen)
        parts[source] = part_fen
        allotted_fen += part_fen
        if remainder:
            remainders.append((-remainder, source))
    for _, source in heapq.nsmallest(amount_fen - allotted_fen, remainders):
        parts[source] += 1
    return {source: part for source, part in parts.items() if part}


def take(mix: Mix, amount_fen: int) -> Mix:
    """Remove `amount_fen` pro rata from `mix` (in place) and return what was removed."""
    taken = split_pro_rata(amount_fen, mix)
    for source, part_fen in taken.items():
        left_fen = mix[source] - part_fen
        if left_fen:
            mix[source] = left_fen
        else:
            del mix[source]
    return taken


def add(mix: Mix, parts: Mapping[str, int]) -> None:
    for source, part_fen in parts.items():
        mix[source] = mix.get(source, 0) + part_fen
