"""Mount points under a directory: listed from /proc/self/mountinfo and unmounted, deepest first."""

from __future__ import annotations

import subprocess
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 ...)."""
    return field.encode().decode("unicode_escape") if "\\" in field else field


def under(root: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below ``root``, deepest first."""
    text = MOUNTINFO.read_text() if mountinfo is None else mountinfo
    base = str(root.resolve()) if root.exists() else str(root)
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = _unescape(fields[4])
            if point == base or point.startswith(base.rstrip("/") + "/"):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: (-len(p.parts), str(p)))


def unmount_under(root: Path) -> list[Path]:
    """Unmount everything at or below ``root`` (lazily when busy); returns what was mounted."""
    points = under(root)
    for point in points:
        if subprocess.run(["umount", str(point)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)
    return points
