"""The configuration export and import that moves an installation between SQLite and
PostgreSQL (retention of old items and deliveries is ``bot.retention``).

The export document is versioned JSON::

    {"format": "shiftbrief-export", "version": 1, "exported_at": "...",
     "sectors": [...], "feeds": [...], "tenants": [...], "subscribers": [...],
     "related_reading": [...]}

Rows are named by natural keys (a sector's key and owner, feed URL, a tenant's platform and
external id, a subscriber's tenant, kind and external id), never by database ids, so a document
imports into any database. Sector keys are the ones each tenant's admins typed
(``bot.datacare_refs``). Schedules are subscriber rows: a channel digest is a subscriber of
kind "channel".
Nothing secret (tokens, Slack installations), no items and no delivery ledger is exported:
feeds are fetched afresh after an import, and their first fetch is stored as backlog.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands.values import SectorIndex
from bot.datacare_refs import SectorNames, ref_of
from bot.datacare_refs import problems as reference_problems
from bot.ingest.netguard import AddressPolicy, UnsafeURLError, validate_feed_url
from bot.models import SectorDef
from storage.repositories import transfer
from storage.repositories.feeds import list_feeds
from storage.repositories.sectors import list_reading, list_sectors, public_key
from storage.repositories.subscribers import list_subscribers

log = logging.getLogger(__name__)


EXPORT_FORMAT: Final = "shiftbrief-export"
EXPORT_VERSION: Final = 1


class TransferError(Exception):
    """An export document that cannot be imported; the message says what is wrong and where."""


# --- The export document --------------------------------------------------------------------


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except Exception:  # ZoneInfo raises several kinds for bad names; all mean the same here
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


SectorKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^https?://\S+$")]
Platform = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,15}$")]
ExternalId = Annotated[str, Field(min_length=1, max_length=64)]
Keyword = Annotated[str, Field(min_length=1, max_length=200)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class TenantRef(_Row):
    platform: Platform
    external_id: ExternalId


class SectorRow(_Row):
    key: SectorKey
    name_en: Annotated[str, Field(min_length=1, max_length=100)]
    name_ja: Annotated[str, Field(min_length=1, max_length=100)]
    keywords: list[Keyword] = []
    builtin: bool = False
    owner: TenantRef | None = None  # null: the shared catalog, as for feeds and reading


class FollowHint(_Row):
    owner: TenantRef
    sector: SectorKey  # as that tenant names it


class FeedRow(_Row):
    url: Url
    title: Annotated[str, Field(max_length=500)] | None = None
    site_url: Annotated[str, Field(max_length=2048)] | None = None
    sector_hint: SectorKey | None = None
    weight: Annotated[float, Field(ge=0), AfterValidator(_finite)] = 1.0
    disabled: bool = False
    owners: list[TenantRef | None] = [None]  # who follows it; null: the shared catalog
    hints: list[FollowHint] = []  # followers' own sector hints (sector_hint: the shared one)


class TenantRow(TenantRef):
    name: Annotated[str, Field(max_length=200)] | None = None


class SubscriberRow(_Row):
    tenant: TenantRef
    kind: Literal["user", "channel"]
    external_id: ExternalId
    sectors: list[SectorKey] = []
    follow: list[Keyword] = []
    mute: list[Keyword] = []
    language: Literal["en", "ja"] = "en"
    length: Literal["short", "full"] = "full"
    # Empty: a channel an admin sent a digest to once, with no schedule of its own.
    delivery_time: Annotated[str, Field(pattern=r"^(|([01]\d|2[0-3]):[0-5]\d)$")] = "08:00"
    timezone: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_valid_timezone)]
    days: list[Day] = []
    enabled: bool = True
    disabled_reason: str | None = None


class ReadingRow(_Row):
    sector: SectorKey | None = None
    keyword: Keyword | None = None
    url: Url
    title: Annotated[str, Field(min_length=1, max_length=500)]
    created_by: Annotated[str, Field(max_length=100)] | None = None
    owner: TenantRef | None = None

    @model_validator(mode="after")
    def _attached(self) -> ReadingRow:
        if self.sector is None and self.keyword is None:
            raise ValueError("a reading link needs a sector or a keyword")
        return self


class ExportDocument(_Row):
    """Version 1 of the export document."""

    format: Literal["shiftbrief-export"]
    version: Literal[1]
    exported_at: datetime
    sectors: list[SectorRow]
    feeds: list[FeedRow]
    tenants: list[TenantRow]
    subscribers: list[SubscriberRow]
    related_reading: list[ReadingRow]


# --- Export ---------------------------------------------------------------------------------


def _ref(tenants: Mapping[int, tuple[str, str]], tenant_id: int | None) -> TenantRef | None:
    found = tenants.get(tenant_id) if tenant_id is not None else None
    return None if found is None else TenantRef(platform=found[0], external_id=found[1])


def _known_hint(sectors: SectorIndex, url: str, hint: str | None) -> str | None:
    key = sectors.find(hint) if hint else None
    if hint and key is None:
        log.warning("feed %s: its sector hint %r names no sector; exported without it", url, hint)
    return key


async def export_config(session: AsyncSession, *, now: datetime) -> dict[str, Any]:
    """The configuration as a JSON-ready export document (see the module docstring).

    Rows are sorted by natural key so two databases with the same configuration export the
    same document (but for ``exported_at``).
    """
    tenant_keys = {t.id: (t.platform, t.external_id) for t in await transfer.list_tenants(session)}
    feed_owners = await transfer.feed_owner_ids(session)
    sectors = sorted(
        (
            SectorRow(
                key=public_key(s.key),
                name_en=s.name_en,
                name_ja=s.name_ja,
                keywords=list(s.keywords),
                builtin=s.builtin,
                owner=_ref(tenant_keys, s.tenant_id),
            )
            for s in await list_sectors(session)
        ),
        key=lambda s: (s.key, s.owner is not None, ref_of(s.owner) or ("", "")),
    )
    follow_hints = await transfer.feed_owner_hints(session)
    # Earlier versions stored hints unchecked ("量子", "bogus"): a sector's name becomes its key.
    hints = SectorIndex(
        [SectorDef(s.key, s.name_en, s.name_ja) for s in sectors if s.owner is None]
    )
    feeds = [
        FeedRow(
            url=f.url,
            title=f.title,
            site_url=f.site_url,
            sector_hint=_known_hint(hints, f.url, f.sector_hint),
            weight=f.weight,
            disabled=f.disabled,
            owners=[_ref(tenant_keys, t) for t in feed_owners.get(f.id, [None])],
            hints=[
                FollowHint(owner=owner, sector=public_key(hint))
                for t, hint in follow_hints.get(f.id, [])
                if (owner := _ref(tenant_keys, t)) is not None
            ],
        )
        for f in sorted(await list_feeds(session), key=lambda f: f.url)
    ]
    tenants = [
        TenantRow(platform=t.platform, external_id=t.external_id, name=t.name)
        for t in await transfer.list_tenants(session)
    ]
    subscribers = [
        SubscriberRow(
            tenant=TenantRef(platform=s.tenant.platform, external_id=s.tenant.external_id),
            kind=s.kind,  # type: ignore[arg-type]  # validated by the model
            external_id=s.external_id,
            sectors=list(s.sectors),
            follow=list(s.follow),
            mute=list(s.mute),
            language=s.language,  # type: ignore[arg-type]
            length=s.length,  # type: ignore[arg-type]
            delivery_time=s.delivery_time,
            timezone=s.timezone,
            days=list(s.days),  # type: ignore[arg-type]
            enabled=s.enabled,
            disabled_reason=s.disabled_reason,
        )
        for s in await list_subscribers(session, enabled_only=False)
    ]
    subscribers.sort(key=lambda s: (s.tenant.platform, s.tenant.external_id, s.kind, s.external_id))
    reading = sorted(
        (
            ReadingRow(
                sector=None if r.sector_key is None else public_key(r.sector_key),
                keyword=r.keyword,
                url=r.url,
                title=r.title,
                created_by=r.created_by,
                owner=_ref(tenant_keys, r.tenant_id),
            )
            for r in await list_reading(session)
        ),
        key=lambda r: (r.sector or "", r.keyword or "", r.url, r.title),
    )
    document = ExportDocument(
        format=EXPORT_FORMAT,
        version=EXPORT_VERSION,
        exported_at=now,
        sectors=sectors,
        feeds=feeds,
        tenants=tenants,
        subscribers=subscribers,
        related_reading=reading,
    )
    return document.model_dump(mode="json")


# --- Import ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import created, updated and found unchanged, per table."""

    sectors: transfer.SyncCounts = field(default_factory=transfer.SyncCounts)
    feeds: transfer.SyncCounts = field(default_factory=transfer.SyncCounts)
    tenants: transfer.SyncCounts = field(default_factory=transfer.SyncCounts)
    subscribers: transfer.SyncCounts = field(default_factory=transfer.SyncCounts)
    related_reading: transfer.SyncCounts = field(default_factory=transfer.SyncCounts)

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return any(c.created or c.updated for c in self._tables().values())

    def _tables(self) -> dict[str, transfer.SyncCounts]:
        return {
            "sectors": self.sectors,
            "feeds": self.feeds,
            "tenants": self.tenants,
            "subscribers": self.subscribers,
            "related_reading": self.related_reading,
        }

    def summary(self) -> str:
        """One line per table, for the CLI."""
        return "\n".join(
            f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in self._tables().items()
        )


MAX_NESTING = 16
"""Export documents nest four levels deep; far deeper JSON is not one (and would exhaust
Python's recursion limit in the JSON decoder or in messages that show a value)."""


def read_document(data: bytes) -> object:
    """The JSON of an export file, from its bytes.

    Raises:
        TransferError: the bytes are not UTF-8, not JSON, or nested far deeper than an export
            document; the message says which, in one line.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TransferError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "export documents are UTF-8 JSON"
        ) from None
    try:
        document: object = json.loads(text, parse_int=_bounded_int)
    except RecursionError:
        raise TransferError(_too_deep()) from None
    except json.JSONDecodeError as exc:
        raise TransferError(f"not JSON: {exc}") from None
    _check_nesting(document)
    return document


MAX_INT_DIGITS = 20
"""Digits of the longest whole number an export holds (ids, counts: 64-bit at most)."""


def _bounded_int(text: str) -> int:
    """A JSON integer, refused when it is longer than any field of an export could hold
    (Python would refuse one past 4,300 digits with a ``ValueError`` and a traceback)."""
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise TransferError(
            f"not an export document: it holds a number of {digits} digits ({text[:12]}...), "
            f"and no field of an export has more than {MAX_INT_DIGITS}"
        )
    return int(text)


def _too_deep() -> str:
    return f"nested more than {MAX_NESTING} levels deep, which no export document is"


def _check_nesting(document: object) -> None:
    """Refuse JSON nested deeper than ``MAX_NESTING`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise TransferError(_too_deep())
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _where(location: Sequence[int | str]) -> str:
    """("subscribers", 2, "timezone") -> "subscribers[2].timezone"."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "document"


def parse_document(document: object) -> ExportDocument:
    """Validate an export document read from JSON.

    Raises:
        TransferError: naming every problem found, with its place in the document.
    """
    if not isinstance(document, Mapping):
        raise TransferError("not an export document: expected a JSON object")
    _check_nesting(document)
    if document.get("format") != EXPORT_FORMAT:
        raise TransferError(
            f"not a ShiftBrief export: format is {document.get('format')!r}, "
            f"expected {EXPORT_FORMAT!r}"
        )
    if document.get("version") != EXPORT_VERSION:
        raise TransferError(
            f"export version {document.get('version')!r} is not supported: "
            f"this ShiftBrief reads version {EXPORT_VERSION}"
        )
    try:
        parsed = ExportDocument.model_validate(document)
    except ValidationError as error:
        problems = [f"{_where(e['loc'])}: {e['msg']}" for e in error.errors()]
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise TransferError(f"invalid export document: {shown}{more}") from None
    _check_unique(parsed)
    return parsed


def _check_unique(doc: ExportDocument) -> None:
    keys: dict[str, list[object]] = {
        "sectors": [(s.key, ref_of(s.owner)) for s in doc.sectors],
        "feeds": [f.url for f in doc.feeds],
        "tenants": [(t.platform, t.external_id) for t in doc.tenants],
        "subscribers": [
            (s.tenant.platform, s.tenant.external_id, s.kind, s.external_id)
            for s in doc.subscribers
        ],
        "related_reading": [
            (r.sector, r.keyword, r.url, ref_of(r.owner)) for r in doc.related_reading
        ],
    }
    for table, values in keys.items():
        repeated = [v for v, n in Counter(values).items() if n > 1]
        if repeated:
            raise TransferError(f"invalid export document: {table} repeats {repeated[0]!r}")


def _checked_feed_urls(doc: ExportDocument, policy: AddressPolicy | None) -> ExportDocument:
    """``doc`` with every feed URL through the checks of ``feeds add`` (SSRF guard included)."""
    problems: list[str] = []
    feeds: list[FeedRow] = []
    for i, feed in enumerate(doc.feeds):
        try:
            feeds.append(feed.model_copy(update={"url": validate_feed_url(feed.url, policy)}))
        except UnsafeURLError as exc:
            problems.append(f"feeds[{i}].url: {exc}")
    if problems:
        raise TransferError("refused feed URLs: " + "; ".join(problems[:10]))
    return doc.model_copy(update={"feeds": feeds})


async def import_config(
    session: AsyncSession,
    document: object,
    *,
    now: datetime,
    address_policy: AddressPolicy | None = None,
) -> ImportReport:
    """Write an export document's configuration into the caller's transaction.

    Rows with the same natural key as a stored row update it; the rest are created; nothing is
    deleted. Importing the same document twice changes nothing the second time. The whole
    document is checked before the first write, so a bad one writes nothing.

    Every feed URL goes through the checks of ``feeds add`` with ``address_policy`` (a
    document must not bring in a feed on a private address that an admin could not add).

    Raises:
        TransferError: the document is malformed, of another format or version, refers to a
            sector or tenant it does not define, or has a feed URL ``feeds add`` refuses.
    """
    doc = _checked_feed_urls(parse_document(document), address_policy)
    stored_tenants = {
        t.id: (t.platform, t.external_id) for t in await transfer.list_tenants(session)
    }
    names = SectorNames.of(await transfer.existing_sector_keys(session), stored_tenants, doc)
    if problems := reference_problems(doc, names):
        raise TransferError("invalid export document: " + "; ".join(problems[:10]))
    tenants, tenant_ids = await transfer.sync_tenants(
        session, [t.model_dump() for t in doc.tenants], now=now
    )

    def owner(ref: TenantRef | None) -> int | None:
        return None if ref is None else tenant_ids[(ref.platform, ref.external_id)]

    def stored(ref: TenantRef | None, key: str) -> str:
        return names.stored(ref_of(ref), owner(ref), key)

    sector_rows = [
        {
            **s.model_dump(exclude={"owner"}),
            "key": stored(s.owner, s.key),
            "tenant_id": owner(s.owner),
        }
        for s in doc.sectors
    ]
    sectors = await transfer.sync_sectors(session, sector_rows, now=now)
    feed_rows = []
    for f in doc.feeds:
        shared_hint, own_hints = names.feed_hints(f)
        feed_rows.append(
            {
                **f.model_dump(exclude={"owners", "hints"}),
                "sector_hint": shared_hint,
                "owner_ids": [owner(o) for o in f.owners],
                "owner_hints": {
                    tenant_ids[ref]: names.stored(ref, tenant_ids[ref], key)
                    for ref, key in own_hints.items()
                },
            }
        )
    feeds = await transfer.sync_feeds(session, feed_rows, now=now)
    subscriber_rows = []
    for s in doc.subscribers:
        row = s.model_dump(exclude={"tenant"})
        row["tenant_id"] = tenant_ids[(s.tenant.platform, s.tenant.external_id)]
        subscriber_rows.append(row)
    subscribers = await transfer.sync_subscribers(session, subscriber_rows, now=now)
    reading_rows = [
        {
            **r.model_dump(exclude={"sector", "owner"}),
            "sector_key": None if r.sector is None else stored(r.owner, r.sector),
            "tenant_id": owner(r.owner),
        }
        for r in doc.related_reading
    ]
    reading = await transfer.sync_reading(session, reading_rows, now=now)
    report = ImportReport(
        sectors=sectors,
        feeds=feeds,
        tenants=tenants,
        subscribers=subscribers,
        related_reading=reading,
    )
    log.info("import: %s", report.summary().replace("\n", "; "))
    return report
