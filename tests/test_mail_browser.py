"""The email's HTML in a real browser (Debian's headless `chromium`): phone and desktop widths, light and dark.

A copy of the page gets a small probe script that reports what it measured; the email itself carries no
script. Headless Chromium will not make a window narrower than 500 px, so the copy is shown in an iframe of
the exact width (375 or 1200 px) inside a wrapper page, which writes the probe's report into its title for
--dump-dom. Skipped, with the reason, on a machine without `chromium` (`.ci/run` installs it).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from newsdigest.delivery.message import render_email
from newsdigest.models import Claim, SourceStatus, Story, StoryArticle
from tests.browser import CHROMIUM, probe_report, write_frame
from tests.test_render import WHEN, _digest

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="`chromium` is not on PATH: install Debian's chromium package (.ci/run does) to render the email",
)

PLANTED = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

PROBE = """
<script id="probe">
var PLANTED_TEXT = PLANTED_JSON;
window.addEventListener("load", function () {
  setTimeout(function () {
    var root = document.documentElement;
    var report = {
      scrollWidth: root.scrollWidth,
      innerWidth: window.innerWidth,
      pwned: window.__pwned || 0,
      background: getComputedStyle(document.body).backgroundColor,
      images: document.images.length,
      scripts: document.scripts.length,
      plantedAsText: document.body.textContent.indexOf(PLANTED_TEXT) >= 0,
      tocTargets: Array.prototype.filter.call(document.querySelectorAll('.toc a[href^="#story-"]'), function (a) {
        return document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1))) !== null;
      }).length
    };
    document.title = "PROBE " + JSON.stringify(report);
    if (window.parent !== window) { window.parent.postMessage(report, "*"); }
  }, 300);
});
</script>
"""


def _awkward_digest() -> Any:
    """Planted markup in titles, claims, the summary, a note and a source's error; long unbroken words; a long URL."""
    long_url = "https://example.com/" + "very-long-path-segment-" * 12 + "?utm_source=" + "x" * 80
    story = Story(
        story_id="s-evil",
        title=f"Council votes {PLANTED}",
        articles=(
            StoryArticle("a1", "Paper A", f"Headline {PLANTED}", long_url, WHEN),
            StoryArticle(
                "a2", "Paper B", "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3, "https://b.example/2", WHEN
            ),
        ),
        claims=(
            Claim(
                text=f"The clerk said the summary was {PLANTED} and nothing else.", kind="attributed", speaker="Clerk"
            ),
            Claim(text="Figures: " + "1,234,567,890-" * 12, kind="figure"),
            Claim(text=f"A new fact {PLANTED} reported today.", kind="fact", is_new=True),
        ),
        first_seen=WHEN,
        latest=WHEN,
        summary="Summary with " + "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2 + f" {PLANTED}",
        notes=(f"Outlets differ: {PLANTED} " + "9,999,999-" * 15,),
    )
    base = _digest()
    return replace(
        base,
        stories=(story, *base.stories),
        sources=(*base.sources, SourceStatus("Paper E", ok=False, error=f"bad feed {PLANTED}")),
    )


def _measure(page: str, tmp_path: Path, name: str, width: int, *extra: str) -> dict[str, Any]:
    """The probe's report on a copy of `page` shown `width` px wide."""
    path = _probed_copy(page, tmp_path / f"{name}-{width}.html")
    wrapper = write_frame(tmp_path / f"{name}-{width}-frame.html", path.name, width)
    report, _dom = probe_report(wrapper, max(width + 100, 600), *extra)
    return report


def _probed_copy(page: str, path: Path) -> Path:
    probed = page.replace(
        "</body>", PROBE.replace("PLANTED_JSON", json.dumps(PLANTED).replace("</", "<\\/")) + "</body>", 1
    )
    assert probed != page
    path.write_text(probed, encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [375, 1200])
def test_no_horizontal_scroll_on_a_phone_or_a_desktop(tmp_path: Path, width: int) -> None:
    page = render_email(_awkward_digest(), "https://news.example/full").html
    report = _measure(page, tmp_path, "email", width)
    assert report["innerWidth"] == width
    assert report["scrollWidth"] <= report["innerWidth"], report
    assert report["tocTargets"] == 2, report  # the contents at the top jump to both stories


def test_a_cut_long_digest_fits_a_phone_too(tmp_path: Path) -> None:
    from tests.test_mail import _long_digest

    body = render_email(_long_digest(300), "https://news.example/full")
    assert body.shown < body.total
    report = _measure(body.html, tmp_path, "long", 375)
    assert report["scrollWidth"] <= report["innerWidth"], report


def test_dark_mode_turns_the_page_dark(tmp_path: Path) -> None:
    page = render_email(_digest(), None).html
    light = _measure(page, tmp_path, "light", 375)
    dark = _measure(page, tmp_path, "dark", 375, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
    assert light["background"] == "rgb(243, 244, 246)"
    assert dark["background"] == "rgb(22, 24, 29)", dark
    assert dark["scrollWidth"] <= dark["innerWidth"]


def test_planted_script_and_onerror_neither_run_nor_become_markup(tmp_path: Path) -> None:
    page = render_email(_awkward_digest(), "https://news.example/full").html
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all(["script", "img", "iframe", "object"])
    assert not [tag for tag in soup.find_all(True) if any(attr.lower().startswith("on") for attr in tag.attrs)]
    report = _measure(page, tmp_path, "planted", 375)
    assert report["pwned"] == 0 and report["images"] == 0 and report["scripts"] == 1, report
    assert report["plantedAsText"], report
    report, dom = probe_report(_probed_copy(page, tmp_path / "planted-direct.html"), 1200)
    assert report["pwned"] == 0 and report["images"] == 0, report
    rendered = BeautifulSoup(dom, "html.parser")
    assert PLANTED in rendered.get_text()  # shown as the text it is
    assert [s.get("id") for s in rendered.find_all("script")] == ["probe"]


def test_screenshots_at_both_widths(tmp_path: Path) -> None:
    """Pictures to look at when changing the template (kept in pytest's tmp folder)."""
    page = tmp_path / "email.html"
    page.write_text(render_email(_awkward_digest(), "https://news.example/full").html, encoding="utf-8")
    for width, scheme in ((375, "light"), (375, "dark"), (1200, "light")):
        shot = tmp_path / f"email-{width}-{scheme}.png"
        frame = tmp_path / f"frame-{width}.html"
        write_frame(frame, page.name, width, 1400)
        command = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},1400",
            *(["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if scheme == "dark" else []),
            f"--screenshot={shot}",
            (frame if width < 500 else page).as_uri(),
        ]
        subprocess.run(command, capture_output=True, timeout=120, check=False)
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
