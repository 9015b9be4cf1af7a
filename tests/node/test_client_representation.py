"""The generic renderer and parser of the client API: JAXB-style XML and upstream's JSON, both ways."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from jqm_node.api.representation import (
    list_to_xml,
    millis_to_iso,
    parse_body,
    parse_date,
    parse_list_body,
    to_json,
    to_xml,
)
from jqm_node.errors import BadRequestError

JOB = {
    "id": 2130706433000001,
    "applicationName": "Echo",
    "parent": None,
    "user": "a<b&c>",
    "state": "ENDED",
    "position": 0,
    "queue": {"id": 1, "name": "DEFAULT", "description": ""},
    "parameters": [{"key": "k", "value": "v\x01"}],
    "progress": 0,
    "messages": ["one", "two"],
    "enqueueDate": 1_700_000_000_123,
    "endDate": None,
    "highlander": False,
}


def test_job_as_jaxb_xml() -> None:
    xml = to_xml("jobInstance", JOB)
    assert xml.startswith(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><jobInstance><id>2130706433000001</id>'
    )
    root = ET.fromstring(xml)
    assert root.findtext("user") == "a<b&c>"
    assert root.find("parent") is None and root.find("endDate") is None  # null fields are left out
    assert [e.findtext("key") for e in root.findall("parameters/entry")] == ["k"]
    assert root.findtext("parameters/entry/value") == "v\ufffd"  # not representable in XML 1.0
    assert [m.text for m in root.findall("messages/message")] == ["one", "two"]
    assert root.findtext("enqueueDate") == "2023-11-14T22:13:20.123Z"
    assert root.findtext("highlander") == "false"
    assert root.findtext("queue/name") == "DEFAULT"


def test_xml_round_trip_gives_the_json_shape_back() -> None:
    document = list_to_xml("jobInstances", "jobInstance", [JOB, JOB])
    parsed = parse_list_body(document.encode(), "application/xml", "jobInstance")
    expected = {k: v for k, v in JOB.items() if v is not None}
    expected["parameters"] = [{"key": "k", "value": "v\ufffd"}]
    assert parsed == [expected, expected]
    assert parse_list_body(to_json([JOB]).encode(), "application/json", "jobInstance") == [JOB]


def test_lists_without_wrapper_are_repeated_elements() -> None:
    xml = to_xml("queryBaseImpl", {"applicationName": ["A", "B"], "statuses": ["ENDED"], "sortby": []})
    assert "<applicationName>A</applicationName><applicationName>B</applicationName>" in xml
    assert "<statuses><status>ENDED</status></statuses><sortby></sortby>" in xml
    assert parse_body(xml.encode(), "application/xml") == {
        "applicationName": ["A", "B"],
        "statuses": ["ENDED"],
        "sortby": [],
    }


def test_scalar_root() -> None:
    assert to_xml("queueStatus", "PAUSED").endswith("<queueStatus>PAUSED</queueStatus>")
    assert json.loads(to_json("PAUSED")) == "PAUSED"


def test_namespaces_and_any_root_name_are_accepted() -> None:
    body = b'<x:jobRequest xmlns:x="urn:jqm"><x:applicationName>A</x:applicationName></x:jobRequest>'
    assert parse_body(body, "application/xml") == {"applicationName": "A"}


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><x>&a;</x>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
        b"<a><b></a>",
        b"<a>&undefined;</a>",
        b"<a><id>notanumber</id></a>",
        b"<a><highlander>maybe</highlander></a>",
        b"<a><runAfter>yesterday</runAfter></a>",
        b"   ",
    ],
)
def test_bad_xml_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequestError):
        parse_body(body, "application/xml")


@pytest.mark.parametrize("body", [b"{", b"[1,", b"\xff\xfe", b"nul", b"[" * 100_000])
def test_bad_json_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequestError):
        parse_body(body, "application/json")


def test_content_type_is_guessed_when_absent() -> None:
    assert parse_body(b"<a><id>3</id></a>", "") == {"id": 3}
    assert parse_body(b'{"id": 3}', "text/plain") == {"id": 3}
    assert parse_list_body(b"<ids><id>1</id><id>2</id></ids>", "application/xml", "id") == [1, 2]
    assert parse_list_body(b"[1, 2]", "application/json", "id") == [1, 2]
    with pytest.raises(BadRequestError):
        parse_list_body(b'{"a": 1}', "application/json", "id")


def test_dates() -> None:
    assert millis_to_iso(0) == "1970-01-01T00:00:00.000Z"
    assert parse_date("2023-11-14T22:13:20.123Z", name="d") == 1_700_000_000_123
    assert parse_date("2023-11-14T23:13:20.123+01:00", name="d") == 1_700_000_000_123
    assert parse_date("2023-11-14T22:13:20.123", name="d") == 1_700_000_000_123  # no zone: UTC
    assert parse_date(1_700_000_000_123, name="d") == 1_700_000_000_123
    assert parse_date("1700000000123", name="d") == 1_700_000_000_123
    assert parse_date(None, name="d") is None
    for bad in (True, -1, 10**20, float("nan"), "soon", [1]):
        with pytest.raises(BadRequestError):
            parse_date(bad, name="d")
