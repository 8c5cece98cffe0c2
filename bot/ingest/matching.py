"""Which stored item a fetched entry is, and the rows that store it (pure).

An entry matches a stored item by GUID, else by link, else by the hash of its text; a feed that
gives every entry the same GUID or link has that key ignored. A match whose text changed is an
edit (one row, current text); no match is a new row, marked as archive when it predates the
feed's first fetch window (``bot.ingest.timeline``).

An entry its GUID or link matches to a stored item with the same raw hash (the same text as read,
under the same normalising rules) is that item unchanged: :func:`unchanged` tells so before any
text work, and such entries are left out of the merge, where they would change nothing.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.ingest.entries import ParsedItem, RawEntry
from bot.ingest.timeline import is_archive, plausible_published
from storage.repositories.items import KnownItem, KnownItems

PACE_SAMPLE = 20
"""How many recent entries the posting interval is measured over."""


@dataclass(frozen=True, slots=True)
class KeyPlan:
    """Which keys identify a feed's entries, and the values to look stored items up by."""

    use_guid: bool
    use_link: bool
    keys: tuple[list[str], list[str], list[str]]


def plan_keys(items: Sequence[ParsedItem]) -> KeyPlan:
    """The keys to match ``items`` by, and the values to look stored items up with."""
    # Some feeds give every entry the same GUID or link; such keys identify nothing.
    use_guid = _distinct(i.guid for i in items)
    use_link = _distinct(i.link for i in items)
    return KeyPlan(
        use_guid,
        use_link,
        (
            [i.guid for i in items if i.guid] if use_guid else [],
            [i.link for i in items if i.link] if use_link else [],
            [i.content_hash for i in items],
        ),
    )


@dataclass(slots=True)
class Merge:
    """What one feed's entries change in storage."""

    new_rows: list[dict[str, Any]] = field(default_factory=list)
    """Column values of new items."""
    edits: list[dict[str, Any]] = field(default_factory=list)
    """New text of edited items, by ``id``."""
    refreshed: list[dict[str, Any]] = field(default_factory=list)
    """``id`` and ``raw_hash`` of items whose raw text changed but not their stored text, so
    the next look-up finds them unchanged without normalising them again."""


def merge_entries(
    known: KnownItems,
    items: Sequence[ParsedItem],
    plan: KeyPlan,
    *,
    feed_id: int,
    first_fetch: bool,
    now: datetime,
) -> Merge:
    """New rows to insert and edited rows to update for one feed's entries.

    An entry is the stored item its GUID names, else the one its link names, else the one with
    its text; a text seen twice in one document is stored once.
    """
    taken_hashes = set(known.by_hash)
    merge = Merge()
    edited_ids: set[int] = set()
    refreshed_ids: set[int] = set()
    for parsed in items:
        match = _match(known, parsed, use_guid=plan.use_guid, use_link=plan.use_link)
        if match is None:
            if parsed.content_hash in taken_hashes:
                continue  # the same text twice in one document
            taken_hashes.add(parsed.content_hash)
            merge.new_rows.append(_new_item(feed_id, parsed, first_fetch=first_fetch, now=now))
            continue
        if (
            match.content_hash != parsed.content_hash
            and parsed.content_hash not in taken_hashes
            and match.id not in edited_ids
        ):
            # The publisher edited the entry: keep one row, with the current text.
            taken_hashes.add(parsed.content_hash)
            edited_ids.add(match.id)
            merge.edits.append(
                {
                    "id": match.id,
                    "title": parsed.title,
                    "summary": parsed.summary,
                    "content_hash": parsed.content_hash,
                    "language": parsed.language[:8],
                    "raw_hash": parsed.raw_hash,
                    "search_text": parsed.search_text,
                    "categories": list(parsed.categories) or None,
                }
            )
        elif (
            match.content_hash == parsed.content_hash
            and parsed.raw_hash is not None
            and match.raw_hash != parsed.raw_hash
            and match.id not in refreshed_ids
            and _keyed(match, parsed, plan)
        ):
            refreshed_ids.add(match.id)
            merge.refreshed.append({"id": match.id, "raw_hash": parsed.raw_hash})
    # An item edited by another entry keeps the raw hash of the text it now has.
    merge.refreshed = [row for row in merge.refreshed if row["id"] not in edited_ids]
    return merge


def unchanged(known: KnownItems, entry: RawEntry) -> bool:
    """Whether ``entry`` is a stored item, as read last time: its GUID (else its link) names an
    item stored with the same raw hash. Only for documents whose GUIDs and links are distinct,
    where matching uses both keys."""
    match = known.by_guid.get(entry.guid) if entry.guid else None
    if match is None and entry.link:
        match = known.by_link.get(entry.link)
    return match is not None and match.raw_hash == entry.raw_hash


def _keyed(match: KnownItem, parsed: ParsedItem, plan: KeyPlan) -> bool:
    """Whether ``match`` was found by a key :func:`unchanged` looks at."""
    return (plan.use_guid and parsed.guid is not None and parsed.guid == match.guid) or (
        plan.use_link and parsed.link is not None and parsed.link == match.link
    )


def _distinct(values: Any) -> bool:
    present = [v for v in values if v]
    return len(present) == len(set(present))


def _match(
    known: KnownItems, item: ParsedItem, *, use_guid: bool, use_link: bool
) -> KnownItem | None:
    if use_guid and item.guid and item.guid in known.by_guid:
        return known.by_guid[item.guid]
    if use_link and item.link and item.link in known.by_link:
        return known.by_link[item.link]
    return known.by_hash.get(item.content_hash)


def _new_item(
    feed_id: int, parsed: ParsedItem, *, first_fetch: bool, now: datetime
) -> dict[str, Any]:
    published = parsed.published_at
    return dict(
        feed_id=feed_id,
        guid=parsed.guid,
        link=parsed.link,
        content_hash=parsed.content_hash,
        title=parsed.title,
        summary=parsed.summary,
        author=parsed.author,
        language=parsed.language[:8],
        published_at=plausible_published(published, seen_at=now),
        first_seen_at=now,
        is_backlog=is_archive(published, seen_at=now, first_fetch=first_fetch),
        raw_hash=parsed.raw_hash,
        search_text=parsed.search_text,
        categories=list(parsed.categories) or None,
    )


def posting_interval(published: Iterable[datetime | None]) -> float | None:
    """Median seconds between a feed's recent entries (their ``published`` dates), or None
    with fewer than two dates."""
    dates = sorted((p for p in published if p is not None), reverse=True)
    dates = dates[:PACE_SAMPLE]
    if len(dates) < 2:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(dates)]
    return statistics.median(gaps)
