"""The ORM: SQLAlchemy 2 typed declarative models.

Feed holds what an admin configured; FeedState holds what fetching learned (conditional-GET
validators, error count, next check); Item is one normalised entry, unique per feed and content
hash so a re-fetch only ever adds new entries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.search import search_text
from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Feed(Base):
    __tablename__ = "feeds"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted feed's id to the next one added, and
    # a stale `feeds remove N` would remove that other feed (PostgreSQL never reuses them).
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    site_url: Mapped[str | None] = mapped_column(String(2048))
    sector_hint: Mapped[str | None] = mapped_column(String(64))
    """The shared catalog's hint; each tenant's is on its ``FeedOwner`` row."""
    weight: Mapped[float] = mapped_column(default=1.0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    state: Mapped[FeedState] = relationship(
        back_populates="feed", cascade="all, delete-orphan", uselist=False, lazy="selectin"
    )


class FeedOwner(Base):
    """Who follows a feed: a tenant, or (``tenant_id`` NULL) the operator's shared catalog.

    A feed row is the fetched source, one per URL, so a URL two tenants follow is fetched once
    per pass and stored once; each tenant's follow is a row here. A tenant's admins manage only
    their own rows; every tenant sees the shared catalog read-only.
    """

    __tablename__ = "feed_owners"
    __table_args__ = (
        UniqueConstraint("feed_id", "tenant_id"),
        # NULLs are distinct in a unique constraint: the shared follow needs its own index.
        Index(
            "uq_feed_owners_shared",
            "feed_id",
            unique=True,
            sqlite_where=text("tenant_id IS NULL"),
            postgresql_where=text("tenant_id IS NULL"),
        ),
        Index("ix_feed_owners_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sector_hint: Mapped[str | None] = mapped_column(String(64))
    """This tenant's hint (a stored sector key); the shared catalog's is ``Feed.sector_hint``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FeedState(Base):
    """What fetching a feed has learned; one row per feed."""

    __tablename__ = "feed_states"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    """What the last successful check left out, for feed health (e.g. an oversized feed)."""
    ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    check_interval: Mapped[int | None] = mapped_column(Integer)
    """Seconds the last successful check waited until the next one. A claim moves
    ``next_check_at`` a lease ahead, so the interval cannot be read back from it."""
    backlog_done: Mapped[bool] = mapped_column(Boolean, default=False)
    """False until the first successful fetch: that fetch's items are backlog, not news."""

    feed: Mapped[Feed] = relationship(back_populates="state")


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "content_hash", name="uq_items_feed_id_content_hash"),
        Index("ix_items_feed_guid", "feed_id", "guid"),
        Index("ix_items_feed_link", "feed_id", "link"),
        Index("ix_items_published_at", "published_at"),
        Index("ix_items_first_seen_at", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str | None] = mapped_column(String(2048))
    link: Mapped[str | None] = mapped_column(String(2048))
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8), default="und")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    is_backlog: Mapped[bool] = mapped_column(Boolean, default=False)
    """Stored when its feed was added, before it was followed: archive, not news."""
    raw_hash: Mapped[str | None] = mapped_column(String(64))
    """The text as read and the rules that normalised it (``bot.ingest.normalise.raw_hash``):
    an entry with the same one needs no text work. None for items stored before 0020."""
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    """The publisher's categories of the entry (RSS ``<category>``, Atom ``category term``),
    evidence of its sector (``bot.briefing.categories``); None when it had none or was stored
    before 0025."""
    search_text: Mapped[str] = mapped_column(Text, default="")
    """Title and summary in the indexable form of storage.search (kept by an ORM event)."""

    sectors: Mapped[list[ItemSector]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )


@event.listens_for(Item, "before_insert")
@event.listens_for(Item, "before_update")
def _index_item_text(_mapper: object, _conn: object, item: Item) -> None:
    item.search_text = search_text(item.title or "", item.summary or "")


class ItemEmbedding(Base):
    """An item's sentence vector (little-endian float32), made in the background after ingest.

    Kept apart from ``items`` so loading items never drags the blobs along; ``model`` says which
    model made the vector, so a change of model never compares vectors of two models.
    """

    __tablename__ = "item_embeddings"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Sector(Base):
    """A sector readers subscribe to; the five defaults are seeded by migration 0002.

    ``key`` is the stored key: a shared sector's own, ``key@tenant_id`` for a tenant's, so each
    tenant has its keys to itself (``storage.repositories.sectors.stored_key``).
    """

    __tablename__ = "sectors"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ja: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    """The tenant whose admins made it; NULL for the shared catalog (the built-in five)."""


class ItemSector(Base):
    """An item's score for one sector, with the terms that matched (the reason)."""

    __tablename__ = "item_sectors"
    __table_args__ = (Index("ix_item_sectors_sector_key", "sector_key", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    sector_key: Mapped[str] = mapped_column(
        String(64), ForeignKey("sectors.key", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[float]
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)


class Tenant(Base):
    """A Slack workspace, a Discord guild, or the console."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Subscriber(Base):
    """A destination for digests (a user's DM or a channel) and its preferences."""

    __tablename__ = "subscribers"
    # AUTOINCREMENT, as for feeds: a channel schedule's id is what admins type to remove it.
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "external_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    """"user" (a personal digest in DMs) or "channel" (an admin's channel digest)."""
    external_id: Mapped[str] = mapped_column(String(64))
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    follow: Mapped[list[str]] = mapped_column(JSON, default=list)
    mute: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(2), default="en")
    length: Mapped[str] = mapped_column(String(8), default="full")
    delivery_time: Mapped[str] = mapped_column(String(5), default="08:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    days: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Day names ("mon" ... "sun"); empty means every day."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    tenant: Mapped[Tenant] = relationship(lazy="selectin")
    learning_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """Votes before this do not teach the ranking (``/brief settings reset-learning``)."""


class RelatedReading(Base):
    """An evergreen explainer link attached to a sector or to a keyword."""

    __tablename__ = "related_reading"

    id: Mapped[int] = mapped_column(primary_key=True)
    sector_key: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("sectors.key", ondelete="CASCADE")
    )
    keyword: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    """The tenant whose readers see the link; NULL for the shared catalog."""


class AuditLog(Base):
    """Who changed what, and when: one row per admin action."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Delivery(Base):
    """The ledger: one row per subscriber and period, so a period is delivered at most once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "period_key"),
        Index("ix_deliveries_status_scheduled_for", "status", "scheduled_for"),
        Index("ix_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(32))
    """The subscriber's local date of the digest ("2026-11-28"), or "now:<id>" for send-now."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, sending, sent, failed (permanent), skipped (missed beyond the grace period)."""
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(16))
    message_ref: Mapped[dict[str, object] | None] = mapped_column(JSON)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When a worker first claimed the row: parts of it can only have been posted since."""
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Feedback(Base):
    """A reader's reaction to a story (buttons on Slack and Discord); the latest choice counts."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("platform", "user_id", "story_key", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    story_key: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16), default="vote")
    """"vote" (value +1 or -1; 0 once taken back) or "more" (asked for more on a sector;
    value 1)."""
    value: Mapped[int] = mapped_column(default=0)
    sector_key: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeenRequest(Base):
    """A signed platform request already handled, kept until its signature goes stale.

    Refusing a second request with the same key stops a replay of a captured request from
    running its command again, in every process that shares the database.
    """

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class EditorText(Base):
    """What a language model wrote for a story (or an edition), reused until its input changes.

    Keyed by a hash of exactly what the model was given, the language, the model and the
    prompt's version: a later edition, or another process on PostgreSQL, with the same story
    reads it instead of asking again.
    """

    __tablename__ = "editor_texts"
    __table_args__ = (UniqueConstraint("content_hash", "language", "model", "prompt_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    """"story" or "edition"."""
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    """The validated, grounded answer."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class StoryRow(Base):
    """A story that lasts across editions: its reports are ``StoryItem`` rows."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    """When a report last joined it."""


class StoryItem(Base):
    """Which story a report belongs to (one story per report)."""

    __tablename__ = "story_items"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StoryReceipt(Base):
    """What one subscriber last received of a story: its outlets, figures and languages then,
    so a later digest can leave it out, or say what is new."""

    __tablename__ = "story_receipts"
    __table_args__ = (UniqueConstraint("subscriber_id", "story_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    snapshot: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
