"""The sector HOLDOUT split (``tests/data/classify_holdout.tsv``) is well formed and blind.

Checked against the shared corpus at test time: every row names exactly one corpus entry by the
key ``bench/classify.py`` resolves, no entry is also in the dev or test split, and every label is
a built-in sector or ``none``. These tests read the labels' format, never the classifier's output
on the items.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bench.classify import DEV_SET, TEST_SET, _entries
from bench.holdout_sample import entry_keys
from bot.briefing.sectors import default_sectors

HOLDOUT = Path(__file__).parent / "data" / "classify_holdout.tsv"


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    return [
        (number, line.split("\t"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]


@cache
def _entry_index(corpus: Path, file: str) -> dict[str, frozenset[int]]:
    """Key (id or link) -> positions of the entries of one feed file it names; read once."""
    index: dict[str, set[int]] = {}
    path = corpus / file
    if file.startswith("realfeeds/") and path.is_file():
        for position, (_, keys) in enumerate(entry_keys(path)):
            for name in keys:
                index.setdefault(name, set()).add(position)
    return {name: frozenset(at) for name, at in index.items()}


@cache
def _resolved(corpus: Path, file: str) -> frozenset[str]:
    """The keys ``bench/classify.py`` resolves in one corpus file; read once."""
    return frozenset(_entries(corpus, file))


def holdout_problems(corpus: Path, holdout: Path) -> list[str]:
    """Every way the holdout file breaks its rules, one line each (empty when it is sound)."""
    known = {sector.key for sector in default_sectors()}
    rows = _rows(holdout)
    files = {fields[0] for _, fields in rows}
    used: set[tuple[str, int]] = set()
    for split in (DEV_SET, TEST_SET):
        for _, (file, key, *_) in _rows(split):
            if file in files:  # only these files can share an entry with the holdout
                used |= {(file, at) for at in _entry_index(corpus, file).get(key, ())}
    problems = []
    seen: Counter[tuple[str, int]] = Counter()
    for number, fields in rows:
        if len(fields) != 3:
            problems.append(f"line {number}: {len(fields)} fields, not 3")
            continue
        file, key, labels = fields
        named = _entry_index(corpus, file).get(key, frozenset())
        if len(named) != 1:
            problems.append(f"line {number}: {key} names {len(named)} entries of {file}")
            continue
        if key not in _resolved(corpus, file):
            problems.append(f"line {number}: bench/classify.py does not resolve {key}")
        entry = (file, next(iter(named)))
        seen[entry] += 1
        if entry in used:
            problems.append(f"line {number}: {key} is also in the dev or test split")
        sectors = labels.split(",")
        if labels != "none" and (not set(sectors) <= known or len(set(sectors)) != len(sectors)):
            problems.append(f"line {number}: label {labels!r} is not sectors of {sorted(known)}")
    problems += [
        f"{file} entry {at} is listed {n} times" for (file, at), n in seen.items() if n > 1
    ]
    return problems


@pytest.mark.corpus
def test_holdout_rows_resolve_are_unused_and_carry_known_labels(corpus: Path) -> None:
    assert holdout_problems(corpus, HOLDOUT) == []


def _a_feed_row(split: Path) -> str:
    """A row of another split that names a feed entry, relabelled, as a holdout row."""
    file, key, _ = next(f for _, f in reversed(_rows(split)) if f[0].startswith("realfeeds/"))
    return f"{file}\t{key}\tnone"


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("bogus", "problem"),
    [
        (
            "realfeeds/science_twis_rss1__rss-parser.xml\thttps://example.com/nothing\tlife",
            "names 0",
        ),
        ("realfeeds/no_such_feed.xml\thttps://example.com/x\tnone", "names 0"),
        ("{dev_row}", "also in the dev or test split"),
        ("{test_row}", "also in the dev or test split"),
        ("{holdout_file}\t{holdout_key}\tspace", "label 'space'"),
        ("{holdout_file}\t{holdout_key}\tai,ai", "label 'ai,ai'"),
        ("{holdout_row}", "listed 2 times"),
        ("realfeeds/science_twis_rss1__rss-parser.xml\tlife", "2 fields"),
    ],
)
def test_a_bogus_row_is_reported(corpus: Path, tmp_path: Path, bogus: str, problem: str) -> None:
    text = HOLDOUT.read_text(encoding="utf-8")
    first = _rows(HOLDOUT)[0][1]
    row = bogus.format(
        dev_row=_a_feed_row(DEV_SET),
        test_row=_a_feed_row(TEST_SET),
        holdout_row="\t".join(first),
        holdout_file=first[0],
        holdout_key=first[1],
    )
    if bogus.startswith("{holdout_file}"):
        # A wrong label on a row that is there already: the row is replaced, not added.
        text = text.replace("\t".join(first) + "\n", "", 1)
    copy = tmp_path / "holdout.tsv"
    copy.write_text(text + row + "\n", encoding="utf-8")
    problems = holdout_problems(corpus, copy)
    assert len(problems) == 1 and problem in problems[0], problems
