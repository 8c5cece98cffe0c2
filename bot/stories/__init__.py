"""A story's life across editions: which reports are one story, and (as it grows) its identity,
what changed, and what each reader has received. ``membership`` is the one seam to clustering."""
