"""What the web console ships (node/jqm_node/console), checked without a browser: every file is served,
nothing reaches outside the node, and no markup or script is built from text."""

from __future__ import annotations

import re
from pathlib import Path

from jqm_node.api.console import INDEX, load_assets

FOLDER = Path(__file__).resolve().parents[2] / "node" / "jqm_node" / "console"


def test_every_file_of_the_folder_is_served() -> None:
    assets = load_assets()
    assert INDEX in assets and "app.js" in assets and "console.css" in assets
    assert sorted(assets) == sorted(path.name for path in FOLDER.iterdir())
    assert {asset.content_type for asset in assets.values()} == {
        "text/html", "text/javascript", "text/css", "image/svg+xml",
    }  # fmt: skip
    assert len({asset.etag for asset in assets.values()}) == len(assets)


def test_nothing_reaches_outside_the_node() -> None:
    """No external URL (CDN, font, analytics), no inline script or style, no HTML built from text."""
    for path in FOLDER.iterdir():
        text = path.read_text()
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path
        if path.suffix == ".html":
            assert "<style" not in text and " style=" not in text and "javascript:" not in text, path
            assert text.count("<script") == 1 and 'type="module"' in text, path
        if path.suffix == ".js":
            for forbidden in (
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                'setAttribute("style"',
                "document.cookie",
                "localStorage",
            ):
                assert forbidden not in text, (path, forbidden)


def test_every_module_is_imported_by_the_page() -> None:
    """Every script is reachable from app.js (no dead file), and every import names a shipped file."""
    scripts = {path.name for path in FOLDER.glob("*.js")}
    imported = {"app.js"}
    for path in FOLDER.glob("*.js"):
        imported |= set(re.findall(r'\bfrom "\./([^"]+)"', path.read_text()))
    assert imported == scripts
