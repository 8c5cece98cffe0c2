"""The sectors' news HOLDOUT split (``tests/data/classify_holdout_news.tsv``) is sound and blind.

Checked against the shared corpus at test time: every row names one line of the newsapi file by
its 0-based number, no row is a line that ``bench/classify.py``'s external sets or
``bench/sector_model.py``'s training read (both computed by calling them, as the benches do) or
carries the exact headline of such a line, no headline is listed twice, every label is a built-in
sector or ``none``, and the rows are the sampler's draw. These tests read the labels' format,
never the classifier's output on the items.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bench.classify import NEWSAPI, load_dev_set, load_external_sets, load_test_set
from bench.holdout_sample import STRATUM_HEADER, newsapi_entries, newsapi_lines, newsapi_sample
from bot.briefing.sectors import default_sectors

HOLDOUT_NEWS = Path(__file__).parent / "data" / "classify_holdout_news.tsv"


def _rows(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line number in the file, stratum, fields) of each row."""
    rows = []
    stratum = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(STRATUM_HEADER):
            stratum = line.removeprefix(STRATUM_HEADER).strip()
        elif line.strip() and not line.startswith("#"):
            rows.append((number, stratum, line.split("\t")))
    return rows


@cache
def _read_by_benches(corpus: Path) -> frozenset[int]:
    """Newsapi lines the external sets hold or the sector model's training draws; read once."""
    from bench.sector_model import external_items

    read = {
        int(item.key)
        for found in load_external_sets(corpus)
        for item in found.items
        if item.file == NEWSAPI
    }
    # The training draw as bench/sector_model.py's main makes it (the known keys steer its
    # random generator, so they must be the same).
    known = frozenset(i.key for i in load_dev_set(corpus)) | frozenset(
        i.key for i in load_test_set(corpus)
    )
    read |= {int(item.key) for item in external_items(corpus, known) if item.file == NEWSAPI}
    return frozenset(read)


def news_holdout_problems(corpus: Path, holdout: Path) -> list[str]:
    """Every way the news holdout file breaks its rules, one line each (empty when it is sound)."""
    known = {sector.key for sector in default_sectors()}
    lines = newsapi_lines(corpus)
    read = _read_by_benches(corpus)
    read_titles = {lines[n][0] for n in read}
    problems = []
    keys: Counter[str] = Counter()
    titles: dict[str, int] = {}
    for number, _, fields in _rows(holdout):
        if len(fields) != 3:
            problems.append(f"line {number}: {len(fields)} fields, not 3")
            continue
        file, key, labels = fields
        if file != NEWSAPI:
            problems.append(f"line {number}: {file} is not the newsapi file")
            continue
        if not key.isdecimal() or key != str(int(key)) or int(key) >= len(lines):
            problems.append(f"line {number}: {key!r} names no line of the newsapi file")
            continue
        keys[key] += 1
        title = lines[int(key)][0]
        if int(key) in read:
            problems.append(f"line {number}: newsapi line {key} is read by a bench")
        elif title in read_titles:
            problems.append(f"line {number}: the headline of line {key} is on a line a bench reads")
        elif titles.setdefault(title, int(key)) != int(key):
            problems.append(f"line {number}: line {key} has the headline of {titles[title]}")
        sectors = labels.split(",")
        if labels != "none" and (not set(sectors) <= known or len(set(sectors)) != len(sectors)):
            problems.append(f"line {number}: label {labels!r} is not sectors of {sorted(known)}")
    problems += [f"newsapi line {key} is listed {n} times" for key, n in keys.items() if n > 1]
    return problems


@pytest.mark.corpus
def test_news_holdout_rows_resolve_are_unread_and_carry_known_labels(corpus: Path) -> None:
    assert news_holdout_problems(corpus, HOLDOUT_NEWS) == []


@pytest.mark.corpus
def test_news_holdout_is_the_samplers_draw(corpus: Path) -> None:
    # Reproducible: the seeded draw gives exactly the file's rows, stratum by stratum.
    strata: dict[str, list[str]] = {}
    for _, stratum, fields in _rows(HOLDOUT_NEWS):
        strata.setdefault(stratum, []).append(fields[1])
    assert strata == newsapi_sample(corpus)
    assert [len(keys) for keys in strata.values()] == [420, 80]


@pytest.mark.corpus
def test_a_key_resolves_to_its_headline(corpus: Path) -> None:
    raw = (corpus / NEWSAPI).read_text(encoding="utf-8").splitlines()
    entries = newsapi_entries(corpus)
    assert len(entries) == len(raw)
    for _, _, (_, key, _) in _rows(HOLDOUT_NEWS)[:20]:
        title, summary, language = entries[key]
        # The headline is the line without its class digit, and there is no summary.
        assert raw[int(key)].rstrip() == f"{title} {raw[int(key)].rstrip()[-1]}"
        assert (summary, language) == ("", "en")


def _unread_pair(corpus: Path, listed: set[int]) -> tuple[int, int]:
    """Two lines of one headline that no bench reads and the file does not hold."""
    lines = newsapi_lines(corpus)
    read = _read_by_benches(corpus)
    read_titles = {lines[n][0] for n in read}
    first: dict[str, int] = {}
    for n, (title, _) in enumerate(lines):
        if n in read or n in listed or title in read_titles:
            continue
        if title in first:
            return first[title], n
        first[title] = n
    raise AssertionError("no duplicate headline outside the benches' lines")


def _read_line(corpus: Path, *, training: bool) -> int:
    """A line the external sets hold (or, with ``training``, one only the training draws)."""
    external = {
        int(item.key)
        for found in load_external_sets(corpus)
        for item in found.items
        if item.file == NEWSAPI
    }
    lines = sorted(_read_by_benches(corpus) - external) if training else sorted(external)
    return lines[len(lines) // 2]


def _a_headline_on_a_read_line(corpus: Path, listed: set[int]) -> int:
    """A line no bench reads whose exact headline is on a line a bench reads."""
    lines = newsapi_lines(corpus)
    read = _read_by_benches(corpus)
    read_titles = {lines[n][0] for n in read}
    return next(
        n
        for n, (title, _) in enumerate(lines)
        if n not in read and n not in listed and title in read_titles
    )


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("bogus", "problem"),
    [
        ("{file}\t{external}\tnone", "read by a bench"),
        ("{file}\t{training}\tlife", "read by a bench"),
        ("{file}\t{copy_of_read}\tnone", "on a line a bench reads"),
        ("{file}\t{twin_a}\tnone\n{file}\t{twin_b}\tnone", "has the headline of"),
        ("{file}\t99999999\tnone", "names no line"),
        ("{file}\t0{first_key}\tnone", "names no line"),
        ("{file}\tline-12\tnone", "names no line"),
        ("realfeeds/theverge_rss__rss-parser.xml\t{first_key}\tnone", "not the newsapi file"),
        ("{file}\t{first_key}\tspace", "label 'space'"),
        ("{file}\t{first_key}\tgreen,green", "label 'green,green'"),
        ("{first_row}", "listed 2 times"),
        ("{file}\tnone", "2 fields"),
    ],
)
def test_a_bogus_row_is_reported(corpus: Path, tmp_path: Path, bogus: str, problem: str) -> None:
    text = HOLDOUT_NEWS.read_text(encoding="utf-8")
    rows = _rows(HOLDOUT_NEWS)
    first = rows[0][2]
    listed = {int(fields[1]) for _, _, fields in rows}
    if "{first_key}\t" in bogus and bogus.startswith("{file}"):
        # A wrong label or key on a row that is there already: the row is replaced, not added.
        text = text.replace("\t".join(first) + "\n", "", 1)
    twins = _unread_pair(corpus, listed) if "twin" in bogus else (0, 0)
    row = bogus.format(
        file=NEWSAPI,
        first_key=first[1],
        first_row="\t".join(first),
        external=_read_line(corpus, training=False) if "external" in bogus else 0,
        training=_read_line(corpus, training=True) if "training" in bogus else 0,
        copy_of_read=_a_headline_on_a_read_line(corpus, listed) if "copy" in bogus else 0,
        twin_a=twins[0],
        twin_b=twins[1],
    )
    copy = tmp_path / "holdout_news.tsv"
    copy.write_text(text + row + "\n", encoding="utf-8")
    problems = news_holdout_problems(corpus, copy)
    assert len(problems) == 1 and problem in problems[0], problems
