from jqm_localcluster import clusterip, lb


def slice_(endpoints: list[dict], ports: list[dict] | None = None, family: str = "IPv4") -> dict:
    return {"addressType": family, "ports": ports or [{"name": "http", "port": 1789}], "endpoints": endpoints}


def ep(ip: str, **conditions: bool) -> dict:
    return {"addresses": [ip], "conditions": conditions}


def test_ready_backends_select_ready_non_terminating_by_port_name() -> None:
    slices = [
        slice_([ep("10.244.0.2", ready=True), ep("10.244.0.3", ready=False), ep("10.244.0.4")]),
        slice_([ep("10.244.0.5", ready=True, terminating=True), ep("10.244.0.6", ready=True)]),
        slice_([ep("10.244.0.7", ready=True)], ports=[{"name": "metrics", "port": 9000}]),
        slice_([ep("fd00::1", ready=True)], family="IPv6"),
    ]
    assert lb.ready_backends(slices, "http") == [("10.244.0.2", 1789), ("10.244.0.4", 1789), ("10.244.0.6", 1789)]
    assert lb.ready_backends(slices, "metrics") == [("10.244.0.7", 9000)]
    assert lb.ready_backends([slice_([ep("10.244.0.8")], ports=[{"port": 80}])], None) == [("10.244.0.8", 80)]


def test_round_robin_per_pick_and_empty() -> None:
    rr = lb.RoundRobin()
    assert rr.pick() is None
    rr.backends = [("a", 1), ("b", 1), ("c", 1)]
    assert [rr.pick() for _ in range(4)] == [("a", 1), ("b", 1), ("c", 1), ("a", 1)]


def test_allocate_ip_keeps_current_address_when_free() -> None:
    assert lb.allocate_ip(None, set()) == "127.0.0.100"
    assert lb.allocate_ip("127.0.0.105", {"127.0.0.100"}) == "127.0.0.105"
    assert lb.allocate_ip("127.0.0.100", {"127.0.0.100"}) == "127.0.0.101"
    assert lb.allocate_ip("192.0.2.1", set()) == "127.0.0.100"  # not one of ours


def test_cluster_ip_listeners_for_every_tcp_port_of_non_headless_services() -> None:
    services = {
        "ns/web": {
            "spec": {"clusterIP": "10.96.0.9", "ports": [{"name": "http", "port": 80}, {"port": 53, "protocol": "UDP"}]}
        },
        "ns/peers": {"spec": {"clusterIP": "None", "ports": [{"port": 1789}]}},
        "ns/ext": {"spec": {"type": "ExternalName", "externalName": "example.org"}},
    }
    slices = {"ns/web": [slice_([ep("10.244.0.2", ready=True)], ports=[{"name": "http", "port": 8080}])]}
    got = clusterip.wanted_listeners(services, lambda key: slices.get(key, []))
    assert got == {("10.96.0.9", 80): [("10.244.0.2", 8080)]}
