"""Between storage and the pure engine: classify stored items, load an edition, make profiles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing.classify import Classifier
from bot.briefing.sector_decision import Vector, VectorEvidence, decide
from bot.briefing.sectors import default_sectors
from bot.ingest.boilerplate import clean
from bot.ingest.timeline import NEWS_WINDOW
from bot.models import (
    Article,
    Language,
    Length,
    Profile,
    ReadingLink,
    SectorDef,
    SectorScore,
    Story,
)
from storage.models import Feed, FeedOwner, Item, Subscriber
from storage.repositories import archive
from storage.repositories import embeddings as embedding_repo
from storage.repositories import sectors as sector_repo
from storage.scope import EVERY, Scope

if TYPE_CHECKING:
    # Imported where used: ingest reaches this module for ItemClassifier and needs neither
    # numpy (embed) nor the composer.
    from bot.briefing.compose import BriefingContext
    from bot.briefing.editor.base import Editor


async def load_sector_defs(session: AsyncSession, scope: Scope = EVERY) -> list[SectorDef]:
    """The sectors ``scope`` sees (by default every one), as the engine sees them (built-in
    ones keep their curated names). A tenant's own sectors carry the keys its admins typed;
    ``EVERY`` names each by its stored key (``sector_repo.key_in_scope``)."""
    builtin = {s.key: s for s in default_sectors()}
    defs = []
    for row in await sector_repo.list_sectors(session, scope):
        key = sector_repo.key_in_scope(row.key, scope) or row.key
        if row.builtin and row.key in builtin:
            defs.append(builtin[row.key])
        else:
            defs.append(
                SectorDef(
                    key=key,
                    name_en=row.name_en,
                    name_ja=row.name_ja,
                    keywords=tuple(row.keywords),
                    builtin=row.builtin,
                )
            )
    return defs


SectorRows = dict[int, list[tuple[str, float, Sequence[str]]]]
"""Sector scores by item id, as ``sector_repo.set_item_sectors`` stores them."""

Vectors = Callable[
    [AsyncSession, Sequence[Item], Sequence[SectorDef]],
    Awaitable[tuple[VectorEvidence, Mapping[int, Vector]] | None],
]
"""What the sector decision compares vectors with, and the stored vectors of those items that
have one (None when none has); ``bot.briefing.sector_vectors`` plugs in here."""


class ItemClassifier:
    """Gives stored items their sectors: the ingest service's ``after_store`` hook, and the
    embedding worker's once it has made their vectors.

    Each item's sectors are ``sector_decision.decide``'s, the one decision ``shiftbrief
    classify`` also makes: the keyword rules, then, for an item they found no sector in and
    whose vector ``vectors`` finds, the rescue. The sector list is read from the database on
    every call, so a sector an admin adds counts from the next item on, without a restart.
    """

    def __init__(
        self, *, classifier: Classifier | None = None, vectors: Vectors | None = None
    ) -> None:
        self._classifier = classifier or Classifier(sectors=default_sectors())
        self._vectors = vectors

    async def __call__(self, session: AsyncSession, items: Sequence[Item]) -> None:
        if not items:
            return
        defs = await load_sector_defs(session)
        self._classifier = self._classifier.with_sectors(defs)
        hints = await _feed_hints(session, {i.feed_id for i in items})
        found = await self._vectors(session, items, defs) if self._vectors is not None else None
        evidence, vectors = found if found is not None else (None, {})
        classifier = self._classifier
        texts = [
            (i.id, i.title, i.summary, hints.get(i.feed_id, ()), i.language, i.categories or ())
            for i in items
        ]

        def run() -> SectorRows:
            return {
                item_id: [
                    (s.key, s.score, s.matched)
                    for s in decide(
                        classifier,
                        title,
                        summary,
                        sector_hint=hints,
                        language=language,
                        vector=vectors.get(item_id),
                        evidence=evidence,
                        categories=categories,
                    )
                ]
                for item_id, title, summary, hints, language, categories in texts
            }

        # Large feeds (thousands of entries) would hold the event loop for a noticeable time.
        scores = await asyncio.to_thread(run) if len(texts) > 200 else run()
        await sector_repo.set_item_sectors(session, scores)


async def _feed_hints(session: AsyncSession, feed_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """Each feed's sector hints (stored keys): the shared catalog's and every follower's."""
    found: dict[int, list[str]] = {}
    shared = select(Feed.id, Feed.sector_hint).where(Feed.id.in_(feed_ids))
    owners = select(FeedOwner.feed_id, FeedOwner.sector_hint).where(
        FeedOwner.feed_id.in_(feed_ids), FeedOwner.sector_hint.is_not(None)
    )
    for query in (shared, owners):
        for feed_id, hint in (await session.execute(query)).all():
            if hint is not None:
                found.setdefault(feed_id, []).append(hint)
    return {feed_id: tuple(dict.fromkeys(hints)) for feed_id, hints in found.items()}


async def reclassify_since(
    session: AsyncSession, *, since: datetime, classifier: ItemClassifier
) -> int:
    """Classify again the news items since ``since`` (after an admin adds a sector)."""
    items = [item for item, _feed in await archive.news_since(session, since=since)]
    await classifier(session, items)
    return len(items)


async def load_articles(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime | None = None,
    seen_before: datetime | None = None,
    include_archive: bool = False,
    scope: Scope = EVERY,
) -> list[Article]:
    """News items of the window as the engine's Articles, with their stored sector scores.

    ``scope`` keeps the items of the feeds a tenant sees (shared and its own).

    ``include_archive`` adds the archive items of those dates (new feeds' back issues).
    """
    rows = await archive.news_since(
        session,
        since=since,
        until=until,
        seen_before=seen_before,
        include_archive=include_archive,
        scope=scope,
    )
    from bot.briefing import embed

    ids = [item.id for item, _ in rows]
    scores = await sector_repo.item_sectors(session, ids, scope)
    # Only stored vectors: the model never runs here (the background worker makes them), and
    # items it has not reached yet are clustered lexically.
    vectors = await embedding_repo.vectors_for(session, ids, model=embed.model_name())
    articles = []
    for item, feed in rows:
        sectors = tuple(
            sorted(
                (SectorScore(s.sector_key, s.score, tuple(s.matched)) for s in scores[item.id]),
                key=lambda s: -s.score,
            )
        )
        articles.append(article_of(item, feed, sectors=sectors, embedding=vectors.get(item.id)))
    return articles


def article_of(
    item: Item,
    feed: Feed,
    *,
    sectors: tuple[SectorScore, ...] = (),
    embedding: bytes | None = None,
) -> Article:
    """A stored item as the engine's Article, its outlet named as readers see it (the feed's
    title without boilerplate, such as an API query standing in for a name)."""
    return Article(
        item_id=item.id,
        feed_id=feed.id,
        source=clean(feed.title or "", "feed") or feed.url,
        title=item.title,
        summary=item.summary,
        link=item.link,
        published_at=item.published_at,
        first_seen_at=item.first_seen_at,
        language=item.language,
        sectors=sectors,
        source_weight=feed.weight,
        embedding=embedding,
    )


async def load_reading(session: AsyncSession, scope: Scope = EVERY) -> list[ReadingLink]:
    """The related reading ``scope`` sees."""
    links = []
    for r in await sector_repo.list_reading(session, scope):
        sector = None if r.sector_key is None else sector_repo.key_in_scope(r.sector_key, scope)
        if r.sector_key is None or sector is not None:
            links.append(ReadingLink(title=r.title, url=r.url, sector=sector, keyword=r.keyword))
    return links


async def load_edition(
    session: AsyncSession,
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    seen_before: datetime | None = None,
    include_archive: bool = False,
    editor: Editor | None = None,
    languages: Sequence[Language] | None = None,
    scope: Scope = EVERY,
    track: bool = False,
) -> BriefingContext:
    """Everything a briefing of the window draws from, clustered, ranked and written once.

    ``seen_before`` rebuilds an earlier edition: only items stored by then count.
    ``include_archive`` also draws on archive items published in the window (to look back at
    a past day); otherwise the edition counts, per sector, the archive items stored in the
    window, so an empty briefing can say where they went. With an ``editor``, the edition is
    written for ``languages`` (default: every language a subscriber reads) before anyone's
    briefing is composed from it. ``scope`` prepares a tenant's edition: the shared catalog
    plus that tenant's own feeds, sectors and reading. ``track`` gives the stories their stored
    identities (``bot.stories.identity``: keys ``t<id>``), writing new ones in a transaction of
    its own (``session`` must hold no uncommitted writes), so what each reader received can be
    recognised in later editions.
    """
    from bot.briefing.compose import BriefingContext

    since = since if since is not None else now - NEWS_WINDOW
    articles = await load_articles(
        session,
        since=since,
        until=until,
        seen_before=seen_before,
        include_archive=include_archive,
        scope=scope,
    )
    sectors = {s.key: s for s in await load_sector_defs(session, scope)}
    reading = await load_reading(session, scope)
    archived = (
        {}
        if include_archive
        else await archive.archived_by_sector(session, since=since, until=until, scope=scope)
    )
    stories: list[Story | Article] = list(articles)
    if track:
        from bot.stories import identity
        from bot.stories.membership import group_reports

        grouped = await asyncio.to_thread(group_reports, articles)
        # In a short transaction of its own, committed before the editor starts: on SQLite a
        # transaction's first write holds the database's one write lock until it ends, and a
        # model can take a minute, during which nothing else (a digest, the editor storing
        # what the model wrote) could write.
        async with AsyncSession(session.bind, expire_on_commit=False) as own, own.begin():
            stories = list(await identity.track(own, grouped, now=now))
    edition = await asyncio.to_thread(BriefingContext.prepare, stories, sectors, reading, now)
    edition.archived = archived
    if editor is not None and editor.name != "extractive":
        if languages is None:
            languages = await reader_languages(session)
        await edition.edit(editor, languages)
    return edition


async def reader_languages(session: AsyncSession) -> list[Language]:
    """The languages subscribers read (English when there is nobody yet)."""
    found = (await session.scalars(select(Subscriber.language).distinct())).all()
    languages: list[Language] = ["ja" if lang == "ja" else "en" for lang in found]
    return list(dict.fromkeys(languages)) or ["en"]


def profile_of(subscriber: Subscriber, *, all_sectors: Sequence[str]) -> Profile:
    """A subscriber's preferences as the engine's Profile (no sectors chosen: all of them)."""
    language: Language = "ja" if subscriber.language == "ja" else "en"
    length: Length = "short" if subscriber.length == "short" else "full"
    return Profile(
        sectors=tuple(subscriber.sectors) or tuple(all_sectors),
        language=language,
        length=length,
        follow=tuple(subscriber.follow),
        mute=tuple(subscriber.mute),
        timezone=subscriber.timezone,
    )
