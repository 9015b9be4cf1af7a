import socket
import struct

from jqm_localcluster import dns


def query(name: str, qtype: int = dns.TYPE_A, qid: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


SERVICES = {
    "default/demo-peers": {"spec": {"clusterIP": "None", "publishNotReadyAddresses": True}},
    "default/web": {"spec": {"clusterIP": "None"}},
    "default/api": {"spec": {"clusterIP": "10.96.0.20"}},
}
SLICES = {
    "default/demo-peers": [
        {
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.244.0.3"], "conditions": {"ready": False}, "hostname": "n1"},
                {"addresses": ["10.244.0.2"], "conditions": {"ready": True}},
            ],
        }
    ],
    "default/web": [
        {"addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.4"], "conditions": {"ready": False}}]}
    ],
}


def resolve(name: str) -> list[str] | None:
    return dns.resolve(name, SERVICES, lambda key: SLICES.get(key, []))


def test_parse_query() -> None:
    q = dns.parse_query(query("Demo-Peers.default.svc.cluster.local"))
    assert (q.id, q.name, q.qtype) == (0x1234, "demo-peers.default.svc.cluster.local", dns.TYPE_A)


def test_resolve_services_hostnames_and_unknown_names() -> None:
    assert resolve("demo-peers.default.svc.cluster.local") == ["10.244.0.2", "10.244.0.3"]
    assert resolve("n1.demo-peers.default.svc.cluster.local") == ["10.244.0.3"]
    assert resolve("web.default.svc.cluster.local") == []  # exists, nothing ready: NODATA
    assert resolve("api.default.svc.cluster.local") == ["10.96.0.20"]
    assert resolve("nope.default.svc.cluster.local") is None
    assert resolve("example.com") is None


def test_response_carries_a_records_for_the_question() -> None:
    q = dns.parse_query(query("web.default.svc.cluster.local"))
    data = dns.response(q, dns.NOERROR, ["10.244.0.2", "10.244.0.9"])
    qid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", data[:12])
    assert (qid, qd, an) == (0x1234, 1, 2)
    assert flags & 0x8000 and flags & 0x0400 and flags & 0x000F == dns.NOERROR
    assert data.endswith(socket.inet_aton("10.244.0.9"))
    nx = dns.response(dns.parse_query(query("x.example")), dns.NXDOMAIN, [])
    assert struct.unpack("!H", nx[2:4])[0] & 0x000F == dns.NXDOMAIN


def test_aaaa_gets_no_a_records() -> None:
    q = dns.parse_query(query("web.default.svc.cluster.local", qtype=28))
    assert struct.unpack("!H", dns.response(q, dns.NOERROR, ["10.244.0.2"])[6:8])[0] == 0
