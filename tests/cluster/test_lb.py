import asyncio
import socket

from jqm_localcluster import lb


def test_allocate_ip_requested_then_current_then_lowest_free() -> None:
    assert lb.allocate_ip(None, None, set()) == "127.0.0.100"
    assert lb.allocate_ip("127.0.0.150", "127.0.0.105", set()) == "127.0.0.150"
    assert lb.allocate_ip(None, "127.0.0.105", {"127.0.0.100"}) == "127.0.0.105"
    assert lb.allocate_ip("127.0.0.100", "127.0.0.100", {"127.0.0.100"}) == "127.0.0.101"
    assert lb.allocate_ip("192.0.2.1", "127.0.0.1", set()) == "127.0.0.100"  # not in the pool


def test_only_load_balancer_services_without_a_class_are_ours() -> None:
    def svc(**spec: object) -> dict:
        return {"spec": {"clusterIP": "10.96.0.9", **spec}}

    assert lb.is_ours(svc(type="LoadBalancer"))
    assert not lb.is_ours(svc(type="LoadBalancer", loadBalancerClass="example.com/other"))
    assert not lb.is_ours(svc(type="ClusterIP"))
    assert lb.tcp_ports(svc(ports=[{"port": 80}, {"port": 53, "protocol": "UDP"}, {"port": 8443}])) == [80, 8443]


async def test_a_connection_is_forwarded_once_and_closed_when_the_target_refuses() -> None:
    """No retry: with nothing listening at the target, the client's connection is closed at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # nothing listens here once the socket is closed
    listener = lb.Listener(("127.0.0.1", dead_port))
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
    finally:
        server.close()


async def test_bytes_flow_both_ways_to_the_target() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    target = await asyncio.start_server(echo, "127.0.0.1", 0)
    listener = lb.Listener(("127.0.0.1", target.sockets[0].getsockname()[1]))
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"hello\n")
        assert await asyncio.wait_for(reader.read(), 10) == b"HELLO\n"
        writer.close()
    finally:
        server.close()
        target.close()
