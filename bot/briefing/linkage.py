"""How pair decisions become groups: average linkage over margins, and the others to measure.

Every function here takes item indices ``0..n-1`` and pairs and returns one group label per
item; none of them knows what an item is. ``bot.briefing.cluster`` supplies the pairs from the
rule of ``bot.briefing.story_rule``.

**Average linkage** (the one the bot uses): every pair of reports has a *margin*, how far its
cosine is above what the rule asks of it (``story_rule.margin``; ``-inf`` when the two may
never join, for instance two items of one feed). Two groups merge, best first, while the mean
margin over all their cross pairs is at least 0 and none of them is ``-inf``. A report that
mentions two events therefore does not chain them (most of its cross pairs with the other
event are negative), one weak pair inside a well-matched event does not split it (complete
linkage would), and an unrelated report, which pairs with nobody, is never merged and never
vetoes anything.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Sequence

Pair = tuple[float, int, int]
"""``(score, i, j)`` with ``i < j``: a pair the rule joins, with its cosine or margin."""

CrossMargin = Callable[[Sequence[int], Sequence[int]], float]
"""Sum of the margins of every pair of one item of each list (``-inf`` if any may not join)."""


class DisjointSet:
    """Union-find over ``0..size-1``; the smaller index represents its set."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def share_linkage(n: int, pairs: Sequence[Pair], share: float) -> list[int]:
    """Group labels for ``n`` items: groups merge when ``share`` of their cross pairs are pairs.

    Pairs are taken highest score first; two groups merge when at least ``share`` of the pairs
    of one member from each are among ``pairs``. With ``share`` 1 that is complete linkage.
    """
    linked: set[tuple[int, int]] = {(i, j) for _, i, j in pairs}
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    label = list(range(n))
    for _, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        a, b = label[i], label[j]
        if a == b:
            continue
        hits = sum((min(x, y), max(x, y)) in linked for x in members[a] for y in members[b])
        if hits >= share * len(members[a]) * len(members[b]):
            keep, gone = min(a, b), max(a, b)
            for x in members[gone]:
                label[x] = keep
            members[keep].extend(members.pop(gone))
    return label


def complete_linkage(n: int, pairs: Sequence[Pair]) -> list[int]:
    """Complete linkage: groups merge only when every cross pair is one of ``pairs``."""
    return share_linkage(n, pairs, 1.0)


def majority_linkage(n: int, pairs: Sequence[Pair]) -> list[int]:
    """Groups merge when at least half of their cross pairs are one of ``pairs``."""
    return share_linkage(n, pairs, 0.5)


def single_linkage(n: int, pairs: Sequence[Pair]) -> list[int]:
    """Group labels for ``n`` items joined by any of the given ``pairs`` (connected parts)."""
    groups = DisjointSet(n)
    for _, i, j in pairs:
        groups.union(i, j)
    return [groups.find(i) for i in range(n)]


def average_linkage(n: int, pairs: Sequence[Pair], cross_margin: CrossMargin) -> list[int]:
    """Average linkage over margins (see the module doc).

    Args:
        n: Number of items.
        pairs: ``(margin, i, j)`` for every pair with a margin of at least 0; only groups
            linked by one of them can reach a mean of 0, so no other pair is looked at.
        cross_margin: The sum of the margins between two lists of items.

    Returns:
        One label per item: the smallest index of its group.
    """
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    neighbours: dict[int, set[int]] = defaultdict(set)
    version = [0] * n  # a group's entries in the heap are stale once it has grown
    heap: list[tuple[float, int, int, int, int]] = []
    for score, i, j in pairs:
        neighbours[i].add(j)
        neighbours[j].add(i)
        heapq.heappush(heap, (-score, i, j, 0, 0))
    label = list(range(n))
    while heap:
        negative, a, b, version_a, version_b = heapq.heappop(heap)
        if label[a] != a or label[b] != b or (version[a], version[b]) != (version_a, version_b):
            continue
        if -negative < 0.0:
            continue
        keep, gone = min(a, b), max(a, b)
        for x in members[gone]:
            label[x] = keep
        members[keep].extend(members.pop(gone))
        version[keep] += 1
        near = {label[y] for x in members[keep] for y in neighbours[x]} - {keep}
        for other in sorted(near):
            total = cross_margin(members[keep], members[other])
            if math.isinf(total):
                continue
            mean = total / (len(members[keep]) * len(members[other]))
            if mean >= 0.0:
                first, second = min(keep, other), max(keep, other)
                heapq.heappush(heap, (-mean, first, second, version[first], version[second]))
    return label
