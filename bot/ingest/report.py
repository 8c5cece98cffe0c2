"""What an ingest pass did, feed by feed, as the CLI, the runner and the metrics read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

FeedStatus = Literal["ok", "not_modified", "failed", "deferred"]


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one pass did with one feed."""

    feed_id: int
    url: str
    status: FeedStatus
    new_items: int = 0
    updated_items: int = 0
    error: str | None = None
    next_check_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "feed_id": self.feed_id,
            "url": self.url,
            "status": self.status,
            "new_items": self.new_items,
            "updated_items": self.updated_items,
            "error": self.error,
            "next_check_at": self.next_check_at.isoformat() if self.next_check_at else None,
        }


@dataclass(slots=True)
class IngestReport:
    """The outcome of one pass over the due feeds."""

    feeds: int = 0
    ok: int = 0
    failed: int = 0
    not_modified: int = 0
    deferred: int = 0
    new_items: int = 0
    results: list[FeedResult] = field(default_factory=list)

    def add(self, result: FeedResult) -> None:
        """Count one feed's result."""
        self.results.append(result)
        self.feeds += 1
        self.new_items += result.new_items
        if result.status == "ok":
            self.ok += 1
        elif result.status == "not_modified":
            self.not_modified += 1
        elif result.status == "deferred":
            self.deferred += 1
        else:
            self.failed += 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, results ordered by feed id."""
        return {
            "feeds": self.feeds,
            "ok": self.ok,
            "failed": self.failed,
            "not_modified": self.not_modified,
            "deferred": self.deferred,
            "new_items": self.new_items,
            "results": [r.to_json() for r in sorted(self.results, key=lambda r: r.feed_id)],
        }
