"""Answers from the team's archive: hybrid retrieval (stored vectors fused with full-text search,
ranked by story), then an answer written from those stories only (``answer``)."""
