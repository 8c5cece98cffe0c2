"""Which sectors an export document's rows name, and the keys they are stored under.

Sector keys belong to their tenant (``storage.repositories.sectors``): a document names a
tenant's own sector by the key its admins typed, with the tenant as its owner, and a shared one
by its key. A subscriber's sectors, a reading link's sector and a follow's sector hint are
looked up in what their tenant sees: the shared sectors and its own, stored or in the document.
Documents written before keys belonged to tenants gave a tenant's sector as the feed's own
hint; such a hint becomes the hint of the owners that have the sector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storage.repositories.sectors import OWNER_MARK, stored_key

if TYPE_CHECKING:
    from bot.datacare import ExportDocument, FeedRow, TenantRef

Ref = tuple[str, str]
"""A tenant by (platform, external id)."""


def ref_of(tenant: TenantRef | None) -> Ref | None:
    return None if tenant is None else (tenant.platform, tenant.external_id)


@dataclass
class SectorNames:
    """The sector keys each tenant sees, from the database and a document."""

    shared: set[str] = field(default_factory=set)
    own: set[tuple[Ref, str]] = field(default_factory=set)

    @classmethod
    def of(
        cls, stored: Iterable[str], tenants: Mapping[int, Ref], doc: ExportDocument
    ) -> SectorNames:
        """From the stored keys (with ``tenants`` by id) and the document's sectors."""
        names = cls()
        for key in stored:
            plain, mark, owner = key.partition(OWNER_MARK)
            if not mark:
                names.shared.add(plain)
            elif owner.isdigit() and (ref := tenants.get(int(owner))) is not None:
                names.own.add((ref, plain))
        for sector in doc.sectors:
            if (ref := ref_of(sector.owner)) is None:
                names.shared.add(sector.key)
            else:
                names.own.add((ref, sector.key))
        return names

    def known(self, owner: Ref | None, key: str) -> bool:
        """Whether ``owner`` (None: the shared catalog) sees a sector ``key``."""
        return key in self.shared or (owner is not None and (owner, key) in self.own)

    def stored(self, owner: Ref | None, owner_id: int | None, key: str) -> str:
        """The stored key of the sector ``key`` that ``owner`` sees (its own first)."""
        if owner is not None and (owner, key) in self.own:
            return stored_key(key, owner_id)
        return key

    def feed_hints(self, feed: FeedRow) -> tuple[str | None, dict[Ref, str]]:
        """A feed's shared hint and its followers' own, an older document's read as it meant:
        a feed hint only its tenants' sectors have is theirs."""
        own: dict[Ref, str] = {}
        for hint in feed.hints:
            own[(hint.owner.platform, hint.owner.external_id)] = hint.sector
        shared = feed.sector_hint
        if shared is not None and shared not in self.shared:
            for owner in map(ref_of, feed.owners):
                if owner is not None and self.known(owner, shared):
                    own.setdefault(owner, shared)
            shared = None
        return shared, own


def problems(doc: ExportDocument, names: SectorNames) -> list[str]:
    """What in ``doc`` names a tenant or a sector it cannot (one line each)."""
    tenants = {(t.platform, t.external_id) for t in doc.tenants}
    found: list[str] = []
    owners = [(f"feeds[{i}].owners", o) for i, f in enumerate(doc.feeds) for o in f.owners]
    owners += [(f"sectors[{i}].owner", s.owner) for i, s in enumerate(doc.sectors)]
    owners += [(f"related_reading[{i}].owner", r.owner) for i, r in enumerate(doc.related_reading)]
    found.extend(
        f"{where}: {o.platform} {o.external_id!r} is not in tenants"
        for where, o in owners
        if o is not None and (o.platform, o.external_id) not in tenants
    )
    for i, f in enumerate(doc.feeds):
        followers = {ref_of(o) for o in f.owners}
        if f.sector_hint is not None and not any(names.known(o, f.sector_hint) for o in followers):
            found.append(f"feeds[{i}].sector_hint: unknown sector {f.sector_hint!r}")
        for j, hint in enumerate(f.hints):
            owner = ref_of(hint.owner)
            if owner not in followers:
                found.append(f"feeds[{i}].hints[{j}].owner: does not follow the feed")
            elif not names.known(owner, hint.sector):
                found.append(f"feeds[{i}].hints[{j}].sector: unknown sector {hint.sector!r}")
    for i, s in enumerate(doc.subscribers):
        tenant = (s.tenant.platform, s.tenant.external_id)
        if tenant not in tenants:
            found.append(
                f"subscribers[{i}].tenant: {s.tenant.platform} {s.tenant.external_id!r} "
                "is not in tenants"
            )
        found.extend(
            f"subscribers[{i}].sectors: unknown sector {key!r}"
            for key in s.sectors
            if not names.known(tenant, key)
        )
    for i, r in enumerate(doc.related_reading):
        if r.sector is not None and not names.known(ref_of(r.owner), r.sector):
            found.append(f"related_reading[{i}].sector: unknown sector {r.sector!r}")
    return found
