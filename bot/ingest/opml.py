"""OPML 2.0 import and export of feed subscriptions, as common feed readers write them."""

from __future__ import annotations

# Building XML only; parsing goes through defusedxml.
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException


class OpmlError(Exception):
    """The OPML document cannot be read."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    site_url: str | None = None
    sector: str | None = None


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every feed outline in ``data`` (nested folders included), in document order.

    A feed's sector is its ``category`` attribute (``/green`` or ``green``) or, failing that, the
    text of the folder outline it sits in; the caller decides whether that names a real sector.

    Raises:
        OpmlError: the document is not well-formed OPML, or it declares entities.
    """
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise OpmlError(f"refused: the file declares XML entities ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root.tag != "opml":
        raise OpmlError(f"not an OPML document (root element is <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise OpmlError("OPML document has no <body>")
    feeds: list[OpmlFeed] = []

    def walk(element: ET.Element, folder: str | None) -> None:
        for outline in element.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            text = outline.get("title") or outline.get("text")
            if url:
                category = (outline.get("category") or "").strip().strip("/").split(",")[0]
                feeds.append(
                    OpmlFeed(
                        url=url,
                        title=text,
                        site_url=outline.get("htmlUrl") or None,
                        sector=category or folder,
                    )
                )
            walk(outline, text or folder)

    walk(body, None)
    return feeds


def render_opml(
    feeds: Iterable[OpmlFeed], *, now: datetime, title: str = "ShiftBrief feeds"
) -> bytes:
    """An OPML 2.0 document: feeds with a sector sit in a folder named after it."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.sector:
            parent = folders.get(feed.sector) or ET.SubElement(
                body, "outline", text=feed.sector, title=feed.sector
            )
            folders[feed.sector] = parent
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.site_url:
            attrs["htmlUrl"] = feed.site_url
        if feed.sector:
            attrs["category"] = f"/{feed.sector}"
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
