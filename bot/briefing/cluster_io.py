"""``shiftbrief cluster``: group JSON Lines items into stories, as the briefing does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.briefing import embed
from bot.briefing.cluster import cluster_articles
from bot.briefing.jsonl_input import LineError, read_item
from bot.models import Article

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Line:
    number: int
    item_id: object
    article: Article | None = None
    error: str | None = None


def _parse(number: int, line: str, sources: dict[str, int]) -> _Line:
    try:
        item_id, item = read_item(line, {"summary": "", "source": "", "lang": "und"})
    except LineError as exc:
        return _Line(number, exc.item_id, error=str(exc))
    title, summary, source, lang = item["title"], item["summary"], item["source"], item["lang"]
    published = item.get("published")
    if not isinstance(published, str):
        return _Line(number, item_id, error="'published' must be an ISO 8601 date-time string")
    try:
        when = datetime.fromisoformat(published)
    except ValueError:
        return _Line(number, item_id, error=f"'published' {published[:40]!r} is not ISO 8601")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # no zone given: read it as UTC, like feeds
    article = Article(
        item_id=number,
        feed_id=sources.setdefault(source, len(sources) + 1),
        source=source,
        title=title,
        summary=summary,
        link=None,
        published_at=when,
        first_seen_at=when,
        language=lang,
    )
    return _Line(number, item_id, article=article)


def cluster_jsonl(lines: Iterable[str], *, use_embeddings: bool = True) -> list[str]:
    """Story labels for JSON Lines items; one output line per input line that is not blank.

    Each input line is ``{"id", "lang", "source", "title", "summary", "published"}``
    (``published`` in ISO 8601; ``summary``, ``source`` and ``lang`` may be absent). Each
    output line is ``{"id": ..., "story": ...}`` where ``story`` is the ``id`` of the story's
    first item in input order, so items of one story share it. A line that cannot be read
    gives ``{"id": ..., "line": n, "error": "..."}`` and the others are still clustered.

    Args:
        lines: The input lines.
        use_embeddings: Embed with the packaged model when it is installed (else lexical).
    """
    sources: dict[str, int] = {}
    parsed = [_parse(n, line, sources) for n, line in enumerate(lines, start=1) if line.strip()]
    articles = [p.article for p in parsed if p.article is not None]
    if use_embeddings and articles and embed.available():
        vectors = embed.embed_texts(
            [embed.article_text(a.title, a.summary) for a in articles],
            [a.language for a in articles],
        )
        articles = [
            replace(a, embedding=embed.to_blob(v)) for a, v in zip(articles, vectors, strict=True)
        ]
    by_number = {p.number: p for p in parsed}
    story_of: dict[int, object] = {}
    for story in cluster_articles(articles):
        first = min(a.item_id for a in story.articles)
        for a in story.articles:
            story_of[a.item_id] = by_number[first].item_id
    out = []
    for p in parsed:
        record = (
            {"id": p.item_id, "line": p.number, "error": p.error}
            if p.error is not None
            else {"id": p.item_id, "story": story_of[p.number]}
        )
        out.append(json.dumps(record, ensure_ascii=False))
    return out
