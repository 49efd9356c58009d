"""Recognising and safely parsing XML sources (feeds and WordPress exports)."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from forum.importers.base import ImportProblem

_WP_NAMESPACE = re.compile(r"https?://wordpress\.org/export/[0-9.]+/")
FEED_ROOTS = {"rss", "feed", "RDF"}

_BOM = b"\xef\xbb\xbf"
_XML_START = re.compile(rb"<(?:\?xml\b|rss\b|feed\b|rdf:RDF\b|!DOCTYPE\s+(?:rss|feed|rdf))", re.I)
_HTML_START = re.compile(rb"<(?:!DOCTYPE\s+html\b|html\b)", re.IGNORECASE)


def _start(data: bytes) -> bytes:
    return data.removeprefix(_BOM).lstrip()[:200]


def looks_like_xml(data: bytes) -> bool:
    """True when the file announces itself as XML or opens with a feed's root element."""
    return _XML_START.match(_start(data)) is not None


def looks_like_html(data: bytes) -> bool:
    return _HTML_START.match(_start(data)) is not None


def parse_xml(data: bytes, *, name: str) -> Element:
    """Parse with entity expansion and external references refused (no billion laughs, no XXE)."""
    try:
        root: Element = fromstring(data)
    except ParseError as error:
        raise ImportProblem(
            f"{name}: not a valid feed: the XML is not well-formed ({error})"
        ) from None
    except DefusedXmlException:
        raise ImportProblem(
            f"{name}: not a valid feed: it declares XML entities or external references, "
            "which are refused for safety"
        ) from None
    return root


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def wp_namespace(root: Element) -> str | None:
    """The WordPress export namespace ("http://wordpress.org/export/1.2/"), if this is a WXR."""
    if root.tag != "rss":
        return None
    for element in root.iter():
        ns = namespace(element.tag)
        # fullmatch: the excerpt namespace (".../1.2/excerpt/") shares the prefix.
        if _WP_NAMESPACE.fullmatch(ns):
            return ns
    return None


def is_feed(root: Element) -> bool:
    return local_name(root.tag) in FEED_ROOTS
