"""Give memory an ingest pass has freed back to the system (glibc's allocator; a no-op elsewhere).

A pass allocates in waves: a feed's body, its parsed entries, a batch of rows, then all of it is
freed. glibc keeps freed memory for reuse, and after a large block (a multi-megabyte body) is
freed it raises its threshold for serving blocks from fresh mappings, so later bodies of that
size land in the heap, where what is freed around live objects cannot go back. Measured on
``bench/ingest.py`` (first pass, 200 feeds): fixing the threshold at its default lowered the
process's peak by about 10 MB, and trimming after each write by about as much.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

__all__ = ["fix_mmap_threshold", "trim"]

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024
"""glibc's default: blocks this large get mappings of their own, returned when freed."""


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # By its soname: ctypes.util.find_library would fork and run ``ldconfig -p`` (a child
        # as large as this process until it execs) in every process that imports this. Only
        # glibc has these calls, and glibc's soname is this one.
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only (musl has none)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def fix_mmap_threshold() -> None:
    """Keep large blocks in mappings of their own, returned to the system when freed
    (setting the threshold stops glibc from raising it as large blocks come and go)."""
    if _LIBC is not None and not _LIBC.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD):
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")


def trim() -> None:
    """Return the free memory at the top of the heap and in free pages to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
