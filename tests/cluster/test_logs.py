from pathlib import Path

from jqm_localcluster.kubelet import logs


def test_select_tail_then_limit() -> None:
    data = b"a\nb\nc\n"
    assert logs.select(data, None, None) == data
    assert logs.select(data, 2, None) == b"b\nc\n"
    assert logs.select(data, 0, None) == b""
    assert logs.select(data, 2, 3) == b"b\nc"


def test_runs_in_numeric_order(tmp_path: Path) -> None:
    for run in ("0", "2", "10"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "output.log").write_text(run)
    (tmp_path / "work").mkdir()
    assert [p.parent.name for p in logs.run_logs(tmp_path)] == ["0", "2", "10"]
    assert logs.run_logs(tmp_path / "missing") == []
