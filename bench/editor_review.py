"""An editor's review you run: the briefings of fixed corpus days, written as readers get them.

For each day the edition is what ``shiftbrief brief --date DAY`` draws from: every item of the
shared corpus feeds (``../shared/corpus/realfeeds``) published that UTC day, through the real
parser (boilerplate rules included), keyword classifier, clusterer, editor and composer, at
midnight after the day. Each day is written in English and Japanese, as a full briefing of all
sectors, to ``OUT/DAY-LANG.md`` (extractive) and, given ``--answers``, ``OUT/DAY-LANG-model.md``
written by the LLM editor whose model is a loopback stand-in answering from that folder.

A reviewer reads these files against ``../shared/reference/briefing-example-ja.md`` with the
rubric (theme, key points and why, sector sections, one story with many sources, synergies,
watch, language, hygiene, "would I read this daily"). The script also prints what it can check
by itself, per file: key points without a reason, a story shown twice, links with tracking
parameters, escapes Markdown does not need, watch items not after the edition, the language of
the top key point, stories shown in a language other than the reader's without a marker.

With ``--answers`` (the folder of recorded model requests and answers, by default
``tests/data/editor_answers``: see its README), the days that have recorded answers are also
written by the LLM editor against ``tests/fixture_model.py``'s loopback model, as those fixtures
define a day; a request with no recorded answer is refused, so that piece falls back.

Run: ``.venv/bin/python bench/editor_review.py [--out DIR] [--days D1,D2] [--answers DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bot.briefing.editor.dates import is_japanese
from bot.briefing.render_text import render_markdown
from bot.models import Briefing, Language, Profile
from tests.editor_feeds import ALL_SECTORS, corpus_articles, day_edition

LANGUAGES: tuple[Language, ...] = ("en", "ja")
DAYS = ("2025-11-05", "2026-02-13", "2026-02-14", "2026-03-24", "2026-07-30", "2026-08-14")
"""Days with news in several feeds: Medscape and Google; STAT; Interesting Engineering and New
Atlas; Electrek and Impress Watch; the arXiv API and DeepMind; TechCrunch and The Verge."""
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
_TRACKING = re.compile(r"[?&](?:utm_\w+|src=rss|wt_mc|ref=rss|ncid|fbclid|cmpid)\b", re.I)
_NEEDLESS_ESCAPE = re.compile(r"\w\\[:.!=-]")
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "editor_answers"


def profile(language: Language) -> Profile:
    return Profile(sectors=ALL_SECTORS, language=language)


def findings(briefing: Briefing, markdown: str, edition_day: date) -> list[str]:
    """What the script can check in one briefing by itself (a reviewer reads the rest)."""
    reasons = sum(bool(p.why) for p in briefing.key_points)
    found = [
        f"{reasons} of {len(briefing.key_points)} key points give a reason, "
        f"{len(briefing.synergies)} synergies, {len(briefing.watch)} watch items"
    ]
    keys = [e.story_key for s in briefing.sections for e in (s.lead, *s.more)]
    if len(keys) != len(set(keys)):
        found.append("a story shown twice in the sections")
    entries = [e for s in briefing.sections for e in (s.lead, *s.more)]
    links = [e.link or "" for e in entries] + [s.url or "" for e in entries for s in e.sources]
    tracked = [link for link in links if _TRACKING.search(link)]
    if tracked:
        found.append(f"{len(tracked)} link(s) with tracking parameters, e.g. {tracked[0]}")
    escapes = _NEEDLESS_ESCAPE.findall(markdown)
    if escapes:
        found.append(f"{len(escapes)} needless escape(s), e.g. {escapes[0]!r}")
    past = [w for w in briefing.watch if w.due is None or w.due <= edition_day]
    if past:
        found.append(f"{len(past)} watch item(s) not after the edition")
    if briefing.key_points:
        top = briefing.key_points[0].text
        if briefing.language == "en" and is_japanese(top):
            found.append(f"the English top key point is Japanese: {top}")
    unmarked = [
        e.title
        for s in briefing.sections
        for e in (s.lead, *s.more)
        if not e.machine_written
        and not e.title.startswith("[")
        and is_japanese(e.title + e.summary) != (briefing.language == "ja")
    ]
    if unmarked:
        found.append(f"{len(unmarked)} story(ies) in another language without a marker")
    return found


async def _model_briefings(
    corpus: Path, days: Sequence[date], folder: Path
) -> dict[tuple[date, Language], Briefing]:
    """Each day that has recorded answers, written by the LLM editor against them."""
    try:  # issue 17 §1's fixtures: recorded requests, honest answers, a loopback model
        from tests.fixture_model import FixtureModel, edition_with, load
    except ImportError:
        sys.exit("--answers needs tests/fixture_model.py and its folder of recorded answers")
    recorded = load(folder)
    out: dict[tuple[date, Language], Briefing] = {}
    for day in days:
        if not any(r.day == day.isoformat() for r in recorded):
            print(f"  {day}: no recorded answers in {folder}")
            continue
        model = FixtureModel(recorded)
        context, _ = await edition_with(corpus, day.isoformat(), model)
        for language in LANGUAGES:
            out[(day, language)] = context.compose(profile(language), date=day)
        if model.unmatched:
            print(f"  {day}: {len(model.unmatched)} request(s) had no recorded answer")
    return out


def write(out: Path, name: str, briefing: Briefing, day: date) -> None:
    markdown = render_markdown(briefing)
    (out / f"{name}.md").write_text(markdown, encoding="utf-8")
    problems = findings(briefing, markdown, day)
    print(f"{name}: " + "; ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "shiftbrief-editor-review"
    )
    parser.add_argument("--days", default=",".join(DAYS))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--answers",
        type=Path,
        nargs="?",
        const=FIXTURES,
        help=f"folder of recorded model requests and answers (default {FIXTURES})",
    )
    args = parser.parse_args()
    days = [date.fromisoformat(d) for d in args.days.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    articles = corpus_articles(args.corpus)
    for day in days:
        edition = day_edition(articles, day)
        for language in LANGUAGES:
            briefing = edition.compose(profile(language), date=day)
            write(args.out, f"{day}-{language}", briefing, day)
    if args.answers is not None:
        written = asyncio.run(_model_briefings(args.corpus, days, args.answers))
        for (day, lang), briefing in written.items():
            write(args.out, f"{day}-{lang}-model", briefing, day)
    print(f"written to {args.out}/")


if __name__ == "__main__":
    main()
