"""What kind of news a headline reports, whatever its sector: a digest, or an incident.

A digest of several unrelated news belongs to no sector. An incident (a security incident at an
organisation, a recall, a security advisory, a warning about scams) is news of the incident,
not of the field it happens in: the keyword rules discount it (``bot.briefing.classify``), the
sector decision keeps the vectors from rescuing it (``bot.briefing.sector_decision``), and it
ranks below its sector's news (``bot.briefing.rank``). The patterns are data in
``bot.briefing.sectors``.
"""

from __future__ import annotations

import re

from bot.briefing.sectors import (
    DIGEST,
    INCIDENT,
    INCIDENT_TRIGGERS,
    INCIDENT_WORDS,
    PRODUCT_INCIDENT,
)

__all__ = ["is_digest", "is_incident", "is_security_incident"]

_DIGEST = re.compile(DIGEST)


def is_digest(title: str) -> bool:
    """Whether ``title`` heads a digest of several unrelated news (no sector's, by any means)."""
    return _DIGEST.search(title) is not None


_INCIDENT = re.compile(INCIDENT)
_PRODUCT_INCIDENT = re.compile(PRODUCT_INCIDENT)


def is_security_incident(title: str) -> bool:
    """Whether ``title`` reports a security incident at an organisation (a hospital's breach):
    news of the attack, not of the victim's field."""
    lowered = title.lower()
    return any(t in lowered for t in INCIDENT_TRIGGERS) and _INCIDENT.search(title) is not None


def is_incident(title: str) -> bool:
    """Whether a headline reports an incident rather than progress: a security incident at an
    organisation, a recall, a security advisory or a warning about scams (any language the
    patterns know: English, Japanese, German, Spanish, Chinese)."""
    if is_security_incident(title):
        return True
    lowered = title.lower()
    return any(t in lowered for t in INCIDENT_WORDS) and _PRODUCT_INCIDENT.search(title) is not None
