"""Headless Chromium for the page and email tests: load a page, read the report its probe script leaves."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")

# Headless Chromium will not make a window narrower than 500 px, so a page is measured inside
# an iframe of the exact width; the probe in the page posts its report up to this wrapper.
_FRAME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>WAITING</title></head>
<body style="margin:0">
<iframe src="{src}" style="display:block;border:0;width:{width}px;height:{height}px"></iframe>
<script>
window.addEventListener("message", function (event) {{ document.title = "PROBE " + JSON.stringify(event.data); }});
</script>
</body></html>
"""


def write_frame(path: Path, src: str, width: int, height: int = 900) -> Path:
    """A wrapper page at `path` showing `src` (relative to it) in an iframe `width` px wide."""
    path.write_text(_FRAME.format(src=src, width=width, height=height), encoding="utf-8")
    return path


def probe_report(page: Path, window_width: int, *flags: str, timeout: float = 60) -> tuple[dict[str, Any], str]:
    """Load a page in headless Chromium: the probe's report (from the title) and the DOM after load."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={window_width},900",
        "--virtual-time-budget=3000",
        *flags,
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    match = re.search(r"<title>PROBE (.*?)</title>", done.stdout, re.S)
    assert match, f"chromium gave no probe report (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1))), done.stdout
