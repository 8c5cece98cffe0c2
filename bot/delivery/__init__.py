"""Getting digests out: schedules, the delivery ledger, pacing and leader election."""
