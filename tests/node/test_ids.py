import pytest

from jqm_node.ids import BLOCK_SIZE, IdAllocator, IdsExhaustedError, id_base, ip_from_id


@pytest.mark.parametrize(
    ("ip", "base"),
    [("192.168.124.234", 3232267498000000), ("192.168.24.1", 3232241665000000), ("0.0.0.1", 1000000)],
)
def test_upstream_vectors(ip: str, base: int) -> None:
    assert id_base(ip) == base
    assert ip_from_id(base) == ip
    assert ip_from_id(base + BLOCK_SIZE - 1) == ip


def test_ids_stay_below_2_pow_53() -> None:
    assert id_base("255.255.255.255") + BLOCK_SIZE - 1 < 2**53


def test_allocator_counts_and_refuses_to_wrap() -> None:
    ids = IdAllocator("10.0.0.1", limit=3)
    issued = [ids.next_id() for _ in range(3)]
    assert issued == [id_base("10.0.0.1") + n for n in (0, 1, 2)]
    assert (ids.used, ids.remaining, ids.capacity) == (3, 0, 3)
    with pytest.raises(IdsExhaustedError):
        ids.next_id()
    assert ids.used == 3


def test_allocator_never_leaves_its_block() -> None:
    with pytest.raises(ValueError):
        IdAllocator("10.0.0.1", limit=BLOCK_SIZE + 1)
    ids = IdAllocator("10.0.0.1")
    assert ids.capacity == BLOCK_SIZE
    assert ip_from_id(id_base("10.0.0.1") + ids.capacity - 1) == "10.0.0.1"
    assert ip_from_id(id_base("10.0.0.1") + ids.capacity) == "10.0.0.2"


def test_negative_id_is_rejected() -> None:
    with pytest.raises(ValueError):
        ip_from_id(-1)
