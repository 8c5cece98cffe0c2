"""Prometheus metrics, in a registry of their own that the services are handed (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Counters and histograms of one ShiftBrief process, exposed at /metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.feeds_fetched = Counter(
            "shiftbrief_feeds_fetched",
            "Feed fetches by result (ok, not_modified, failed, deferred).",
            ["result"],
            registry=r,
        )
        self.items_ingested = Counter("shiftbrief_items_ingested", "New items stored.", registry=r)
        self.deliveries = Counter(
            "shiftbrief_deliveries",
            "Digests by platform and outcome (sent, failed, retried, skipped).",
            ["platform", "status"],
            registry=r,
        )
        self.deliveries_late = Counter(
            "shiftbrief_deliveries_late",
            "Digests sent late after downtime.",
            ["platform"],
            registry=r,
        )
        self.command_seconds = Histogram(
            "shiftbrief_command_seconds",
            "Time to answer a command.",
            ["platform"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
            registry=r,
        )
        self.scheduler_lag_seconds = Histogram(
            "shiftbrief_scheduler_lag_seconds",
            "From a digest's scheduled time to its ledger row being opened.",
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 3600, 21600),
            registry=r,
        )
        self.editor_calls = Counter(
            "shiftbrief_editor_calls",
            "Language-model calls by result (ok, rate_limited, server_error, timeout, "
            "unreachable, bad_answer).",
            ["result"],
            registry=r,
        )
        self.editor_tokens = Counter(
            "shiftbrief_editor_tokens",
            "Tokens the model reported, by kind (prompt, completion).",
            ["kind"],
            registry=r,
        )
        self.editor_cache_hits = Counter(
            "shiftbrief_editor_cache_hits",
            "Story and edition texts read from the database instead of asking the model.",
            registry=r,
        )
        self.editor_grounding_rejections = Counter(
            "shiftbrief_editor_grounding_rejections",
            "Written pieces rejected, by language (en, ja): a number or date not in the "
            "sources, a link or a mention.",
            ["language"],
            registry=r,
        )
        self.editor_fallbacks = Counter(
            "shiftbrief_editor_fallbacks",
            "Pieces shown with extractive text instead, by reason (call_failed, bad_answer, "
            "grounding, call_cap, deadline).",
            ["reason"],
            registry=r,
        )
        self.scheduler_leader = Gauge(
            "shiftbrief_scheduler_leader", "1 while this process runs the scheduler.", registry=r
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
