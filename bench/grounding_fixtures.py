"""Benchmark: the grounding check on honest and invented model answers for real corpus days.

For each day of ``tests/data/editor_answers/`` and each language, the LLM editor writes the
day's edition against the loopback stand-in serving the hand-written honest answers
(``tests/fixture_model.py``); then once more for every answer of ``invented.json``, which
differs from an honest one by one invented number. Counted per language: honest pieces the
editor rejected (a story, the theme with its opening, a sector paragraph, a synergy or a watch
item is one piece), and invented pieces it showed anyway. Both should be 0.

Run: ``.venv/bin/python bench/grounding_fixtures.py [--verbose]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.metrics import Metrics
from tests.conftest import CORPUS
from tests.corpus_days import DAYS
from tests.fixture_model import (
    FixtureModel,
    day_context,
    load,
    load_invented,
    piece_of,
    pieces,
    write_with,
    written_pieces,
)
from tests.openai_api import OpenAIAPI


def rejections(metrics: Metrics) -> float:
    """Every sample of the rejection counter, whatever its labels."""
    total = 0.0
    for family in metrics.registry.collect():
        if family.name == "shiftbrief_editor_grounding_rejections":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


async def run(verbose: bool) -> None:
    recorded = load()
    by_name = {r.name: r for r in recorded}
    honest_total: Counter[str] = Counter()
    honest_rejected: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    for day in DAYS:
        for lang in ("en", "ja"):
            mine = [r for r in recorded if r.day == day and r.lang == lang and r.answer]
            model = FixtureModel(recorded)
            metrics = Metrics()
            async with OpenAIAPI(behaviour=model) as api:
                text = await write_with(api, day_context(CORPUS, day), lang, metrics)
            shown = written_pieces(text)
            counted[lang] += int(rejections(metrics))
            for r in mine:
                assert r.answer is not None
                for piece, piece_text in pieces(r, r.answer):
                    honest_total[lang] += 1
                    if piece_text not in shown:
                        honest_rejected[lang] += 1
                        if verbose:
                            print(f"  honest rejected: {r.name} {piece}: {piece_text[:90]}")
    invented_total: Counter[str] = Counter()
    invented_shown: Counter[str] = Counter()
    for entry in load_invented():
        base = by_name[entry.name]
        assert base.answer is not None
        changed = entry.apply(base.answer)
        model = FixtureModel(recorded, {entry.name: changed})
        async with OpenAIAPI(behaviour=model) as api:
            text = await write_with(api, day_context(CORPUS, base.day), base.lang)
        target = dict(pieces(base, changed))
        piece = piece_of(entry)
        invented_total[base.lang] += 1
        if target[piece] in written_pieces(text):
            invented_shown[base.lang] += 1
            if verbose:
                print(f"  invented shown: {entry.name} {entry.piece} ({entry.form}): {entry.new}")
    for lang in ("en", "ja"):
        print(
            f"{lang}: honest pieces rejected {honest_rejected[lang]}/{honest_total[lang]} "
            f"(rejections counted {counted[lang]}); "
            f"invented pieces shown {invented_shown[lang]}/{invented_total[lang]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true", help="name every miss")
    asyncio.run(run(parser.parse_args().verbose))


if __name__ == "__main__":
    main()
