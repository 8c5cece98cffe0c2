"""ShiftBrief engine: ingest, classify, compose, schedule and answer commands."""
