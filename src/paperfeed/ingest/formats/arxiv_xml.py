"""Reading arXiv's XML (API Atom, OAI-PMH) safely: shared by the arxiv-atom and oai parsers.

defusedxml refuses entity declarations and external entities/DTDs, so a hostile feed cannot
expand a billion laughs or make us read local files or URLs.
"""

from __future__ import annotations

from datetime import date
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from paperfeed.ingest.formats import IngestError
from paperfeed.ingest.formats.fields import FieldError, parse_date

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "arXiv": "http://arxiv.org/OAI/arXiv/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def parse_xml(stream: BinaryIO, name: str, what: str) -> Element:
    """The root element of ``stream``, or IngestError naming the source."""
    try:
        return SafeET.parse(stream, forbid_dtd=True).getroot()
    except DefusedXmlException as error:
        raise IngestError(f"{name}: refused {what}: {type(error).__name__}") from None
    except ParseError as error:
        raise IngestError(f"{name}: malformed {what} XML: {error}") from None
    except (ValueError, UnicodeError) as error:  # e.g. an unknown encoding declaration
        raise IngestError(f"{name}: unreadable {what} XML: {error}") from None


def text_of(parent: Element, path: str) -> str | None:
    """The stripped text (including nested markup) of the first ``path`` match, or None."""
    found = parent.find(path, NS)
    if found is None:
        return None
    value = "".join(found.itertext()).strip()
    return value or None


def texts_of(parent: Element, path: str) -> list[str]:
    """The non-blank texts of every ``path`` match."""
    values = ("".join(e.itertext()).strip() for e in parent.findall(path, NS))
    return [value for value in values if value]


def day(value: str | None, field: str) -> date | None:
    """A date from an ISO date/datetime; FieldError (-> RecordError) when unreadable."""
    return parse_date(value, field) if value else None


__all__ = ["NS", "FieldError", "day", "parse_xml", "text_of", "texts_of"]
