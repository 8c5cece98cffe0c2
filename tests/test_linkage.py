"""How pair margins become stories: average linkage, and complete linkage for comparison."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.briefing.linkage import average_linkage, complete_linkage

NEVER = float("-inf")


def run(n: int, margins: dict[tuple[int, int], float], default: float = -0.5) -> list[int]:
    """Average linkage over ``margins`` (every other pair has ``default``)."""

    def value(i: int, j: int) -> float:
        return margins.get((min(i, j), max(i, j)), default)

    def cross(left: Sequence[int], right: Sequence[int]) -> float:
        return sum(value(i, j) for i in left for j in right)

    pairs = [(m, i, j) for (i, j), m in margins.items() if m >= 0.0]
    return average_linkage(n, pairs, cross)


def groups(labels: list[int]) -> list[list[int]]:
    found: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        found.setdefault(label, []).append(i)
    return sorted(found.values())


def test_a_report_close_to_two_events_does_not_chain_them() -> None:
    # 0-1 report event A, 2-3 event B; 4 mentions both, a little closer to A.
    margins = {(0, 1): 0.3, (2, 3): 0.3, (1, 4): 0.25, (0, 4): 0.2, (2, 4): 0.15, (3, 4): 0.1}
    assert groups(run(5, margins)) == [[0, 1, 4], [2, 3]]


def test_one_weak_pair_does_not_split_an_event_that_complete_linkage_would() -> None:
    margins = {pair: 0.3 for pair in itertools.combinations(range(4), 2)}
    margins[(0, 3)] = -0.1  # one outlet's angle falls just short against another's
    assert groups(run(4, margins)) == [[0, 1, 2, 3]]
    joined = [(m, i, j) for (i, j), m in margins.items() if m >= 0.0]
    assert len(groups(complete_linkage(4, joined))) == 2


def test_a_pair_that_may_never_join_vetoes_the_merge() -> None:
    # 0 and 2 come from one feed: however close both are to 1, they are not one story.
    margins = {(0, 1): 0.5, (1, 2): 0.5, (0, 2): NEVER}
    labels = run(3, margins)
    assert labels[0] != labels[2]
    assert labels[1] in (labels[0], labels[2])


def test_unrelated_reports_stay_alone_and_the_answer_does_not_depend_on_order() -> None:
    margins = {(0, 1): 0.2, (2, 3): 0.4}
    assert groups(run(5, margins)) == [[0, 1], [2, 3], [4]]
    flipped = {(4 - j, 4 - i): m for (i, j), m in margins.items()}  # the same pairs, renumbered
    assert groups(run(5, flipped)) == [[0], [1, 2], [3, 4]]
