"""Content negotiation, the errorDto body, and one generic renderer/parser for upstream's two representations.

Objects are first turned into JSON-shaped data (dicts, lists, strings, numbers, booleans, None; dates
as epoch milliseconds, as upstream's Jackson writes them). :func:`render` turns such data into JSON, or
into JAXB-style XML: root element named after the class with a lower-case first letter, one child
element per field, ``None`` fields left out, dates as ``xs:dateTime``, maps as
``<parameters><entry><key/><value/></entry></parameters>``, and the ``@XmlElementWrapper`` lists of the
upstream classes wrapped as upstream does (``<messages><message/>``, ``<statuses><status/>``...).
Lists returned by a resource are wrapped as Jersey does: ``<jobInstances><jobInstance/>...``.

:func:`parse_body` does the reverse for request bodies in either representation, so that handlers
only ever see JSON-shaped data. XML is parsed with DOCTYPEs refused, hence no entity expansion.
"""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

from aiohttp import web

from jqm_node.api.schemas import keys_of_kind, wrapped_lists
from jqm_node.errors import BadRequestError, JqmError

JSON = "application/json"
XML = "application/xml"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

DATE_KEYS = keys_of_kind("date")
"""Fields holding a ``java.util.Calendar`` upstream: epoch milliseconds in JSON, ``xs:dateTime`` in XML."""
INT_KEYS = keys_of_kind("integer")
BOOL_KEYS = keys_of_kind("boolean")
WRAPPED_LISTS = wrapped_lists()
"""List fields written inside a wrapper element, with the name of their items. Other lists are written
as repeated elements, as JAXB writes a collection without ``@XmlElementWrapper``; when parsing, an
element that repeats becomes a list."""

MAX_DATE_MILLIS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant both sides can write

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# ---------------------------------------------------------------------------------------- negotiation


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "json" in accept and "xml" not in accept.split("json")[0]


# ---------------------------------------------------------------------------------------- dates


def millis_to_iso(millis: int | float) -> str:
    """An ``xs:dateTime`` in UTC with milliseconds, as JAXB prints a Calendar."""
    millis = min(max(int(millis), 0), MAX_DATE_MILLIS)
    when = datetime.fromtimestamp(millis / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def parse_date(value: Any, *, name: str) -> int | None:
    """Epoch milliseconds from a JSON number or an ISO 8601 / ``xs:dateTime`` string (no zone: UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRequestError(f"'{name}' must be a date, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            millis = int(text)
        else:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise BadRequestError(
                    f"'{name}' must be epoch milliseconds or an ISO 8601 date, got {text!r}"
                ) from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            millis = round(when.timestamp() * 1000)
    elif isinstance(value, int | float) and value == value:  # not NaN
        millis = int(value)
    else:
        raise BadRequestError(f"'{name}' must be a date, got {value!r}")
    if not 0 <= millis <= MAX_DATE_MILLIS:
        raise BadRequestError(f"'{name}' is out of range: {value!r}")
    return millis


def to_millis(epoch_seconds: float | None) -> int | None:
    return None if epoch_seconds is None else int(epoch_seconds * 1000)


# ---------------------------------------------------------------------------------------- rendering


def xml_text(value: str) -> str:
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _XML_INVALID.sub("\ufffd", text) if _XML_INVALID.search(text) else text


def _write_xml(tag: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for key, item in value.items():
            _write_xml(key, item, out)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        item_tag = WRAPPED_LISTS.get(tag)
        if item_tag is None:  # a collection without wrapper (Query.applicationName, JobDef.schedules)
            for item in value:
                _write_xml(tag, item, out)
            return
        out.append(f"<{tag}>")
        for item in value:
            _write_xml(item_tag, item, out)
        out.append(f"</{tag}>")
    elif value is True or value is False:
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    elif tag in DATE_KEYS and isinstance(value, int | float):
        out.append(f"<{tag}>{millis_to_iso(value)}</{tag}>")
    elif isinstance(value, int):
        out.append(f"<{tag}>{value}</{tag}>")
    else:
        out.append(f"<{tag}>{xml_text(str(value))}</{tag}>")


def to_xml(root: str, data: Any) -> str:
    out = [XML_DECLARATION]
    if data is None:
        out.append(f"<{root}/>")
    else:
        _write_xml(root, data, out)
    return "".join(out)


def list_to_xml(wrapper: str, item: str, items: Iterable[Any]) -> str:
    out = [XML_DECLARATION, f"<{wrapper}>"]
    for value in items:
        _write_xml(item, value, out)
    out.append(f"</{wrapper}>")
    return "".join(out)


def to_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def json_response(data: Any, *, status: int = 200) -> web.Response:
    return web.Response(text=to_json(data), status=status, content_type=JSON)


def render(request: web.Request, root: str, data: Any, *, status: int = 200) -> web.Response:
    """One object (or a scalar such as a QueueStatus) as JSON if asked, else as XML under ``root``."""
    if wants_json(request):
        return json_response(data, status=status)
    return web.Response(text=to_xml(root, data), status=status, content_type=XML)


def render_list(request: web.Request, wrapper: str, item: str, items: list[Any]) -> web.Response:
    """A list as a JSON array if asked, else as Jersey wraps a JAXB list: ``<wrapper><item/>...</wrapper>``."""
    if wants_json(request):
        return json_response(items)
    return web.Response(text=list_to_xml(wrapper, item, items), content_type=XML)


def render_job_list(request: web.Request, jobs: list[dict[str, Any]]) -> web.Response:
    """A list of JobInstance dicts (see ``client_objects.job_to_dict``), e.g. merged from several nodes."""
    return render_list(request, "jobInstances", "jobInstance", jobs)


NDJSON = "application/x-ndjson"


class ListStream:
    """A list sent as it is produced, in chunks: a JSON array, Jersey's XML list (``<wrapper><item/>...``)
    or NDJSON (one JSON object per line, what nodes stream to each other). Only a chunk is ever held."""

    CHUNK_BYTES = 64 * 1024

    def __init__(self, request: web.Request, wrapper: str, item: str, *, content_type: str) -> None:
        self.request, self.item, self.content_type = request, item, content_type
        self.response = web.StreamResponse()
        self.response.content_type = content_type
        self._parts: list[str] = []
        self._size = 0
        self._first = True
        if content_type == JSON:
            self._parts.append("[")
        elif content_type == XML:
            self._parts += [XML_DECLARATION, f"<{wrapper}>"]
        self._end = {JSON: "]", XML: f"</{wrapper}>"}.get(content_type, "")

    async def add(self, value: Any) -> None:
        if self.content_type == XML:
            out: list[str] = []
            _write_xml(self.item, value, out)
            text = "".join(out)
        elif self.content_type == JSON:
            text = to_json(value) if self._first else "," + to_json(value)
        else:
            text = to_json(value) + "\n"
        self._first = False
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self.CHUNK_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if not self.response.prepared:
            await self.response.prepare(self.request)
        await self.response.write("".join(self._parts).encode())
        self._parts, self._size = [], 0
        await asyncio.sleep(0)  # a long list must not keep the node's other requests waiting

    async def finish(self) -> web.StreamResponse:
        self._parts.append(self._end)
        await self._flush()
        await self.response.write_eof()
        return self.response

    def abort(self) -> web.StreamResponse:
        """Ends the answer before the list is complete: the connection is closed, so the client sees a
        broken answer, never a list silently cut short."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        return self.response


# ---------------------------------------------------------------------------------------- parsing


def _forbid_doctype(*_: Any) -> None:
    raise BadRequestError("XML documents with a DOCTYPE are refused")


MAX_XML_DEPTH = 32
"""Deepest element nesting accepted (upstream's objects nest 4 deep): deeper documents are refused
before any recursive processing could exhaust the stack."""


def parse_xml(body: bytes) -> ET.Element:
    """Parses an XML body with expat; DOCTYPEs (and with them every entity declaration) and nesting
    deeper than :data:`MAX_XML_DEPTH` are refused (400)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    depth = 0

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise BadRequestError(f"XML body nested deeper than {MAX_XML_DEPTH} elements")
        builder.start(tag, attributes)

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(tag)

    parser.StartDoctypeDeclHandler = _forbid_doctype
    parser.EntityDeclHandler = _forbid_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
        return builder.close()
    except (expat.ExpatError, AssertionError) as e:
        raise BadRequestError(f"malformed XML body: {e}") from None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_scalar(key: str, text: str | None) -> Any:
    text = (text or "").strip() if key in INT_KEYS or key in BOOL_KEYS or key in DATE_KEYS else (text or "")
    if key in DATE_KEYS:
        return parse_date(text, name=key)
    if key in INT_KEYS:
        if text == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise BadRequestError(f"'{key}' must be an integer, got {text!r}") from None
    if key in BOOL_KEYS:
        if text.lower() not in ("true", "false", "1", "0"):
            raise BadRequestError(f"'{key}' must be true or false, got {text!r}")
        return text.lower() in ("true", "1")
    return text


def xml_to_data(key: str, element: ET.Element) -> Any:
    """JSON-shaped data from a JAXB-style element; ``key`` tells how its content is typed."""
    item_key = WRAPPED_LISTS.get(key)
    if item_key is not None:
        return [xml_to_data(item_key, child) for child in element]
    if len(element) == 0:
        return _xml_scalar(key, element.text)
    repeated: set[str] = set()
    data: dict[str, Any] = {}
    for child in element:
        tag = _local(child.tag)
        value = xml_to_data(tag, child)
        if tag not in data:
            data[tag] = value
        elif isinstance(data[tag], list) and tag in repeated:
            data[tag].append(value)
        else:  # a repeated element: a collection JAXB writes without a wrapper
            data[tag] = [data[tag], value]
            repeated.add(tag)
    return data


def is_json(content_type: str, body: bytes) -> bool:
    """JSON if the Content-Type says so, XML if it says so, else guessed from the first byte."""
    if "json" in content_type:
        return True
    if "xml" in content_type:
        return False
    return body.lstrip()[:1] != b"<"


def parse_body(body: bytes, content_type: str) -> Any:
    """JSON-shaped data from a JSON or XML body; the XML root element's name is not checked (as JAXB)."""
    if not body.strip():
        raise BadRequestError("a request body is required")
    if is_json(content_type, body):
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadRequestError(f"malformed JSON body: {e}") from None
        except RecursionError:
            raise BadRequestError("malformed JSON body: nested too deeply") from None
    root = parse_xml(body)
    if len(root) == 0 and not (root.text or "").strip():
        return {}  # an empty object: <queryBaseImpl/>
    return xml_to_data(_local(root.tag), root)


def parse_list_body(body: bytes, content_type: str, item_key: str) -> list[Any]:
    """A list body: a JSON array, or an XML wrapper element whose children are the items."""
    if is_json(content_type, body):
        data = parse_body(body, content_type)
        if not isinstance(data, list):
            raise BadRequestError("the request body must be a JSON array")
        return data
    if not body.strip():
        raise BadRequestError("a request body is required")
    return [xml_to_data(item_key, child) for child in parse_xml(body)]


# ---------------------------------------------------------------------------------------- errors


def error_body(error: JqmError) -> dict[str, Any]:
    return {
        "userReadableMessage": error.message,
        "developerMessage": error.developer_message,
        "stacktrace": None,
        "errorCode": error.code,
        "userMessageKey": None,
        "userMessageParams": None,
        "httpStatus": int(error.status),
    }


def error_response(request: web.Request, error: JqmError) -> web.Response:
    return render(request, "errorDto", error_body(error), status=int(error.status))
