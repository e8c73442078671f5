"""The archive page and a digest page in headless Chromium (Debian's `chromium`): a phone and a desktop, light and dark.

A COPY of each page gets a tiny probe script that puts its measurements in document.title, read back with
--dump-dom; the pages themselves carry no script. Headless Chromium will not make its window narrower than
500 px, so the copy is shown in an iframe of the exact width (375 or 1200 px) inside a wrapper page, to which
the probe also posts its report. Skipped, with the reason, on a machine without `chromium`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from newsdigest.digest.archive import write_archive
from tests.browser import CHROMIUM, probe_report, write_frame
from tests.test_archive import _write_day

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="`chromium` is not on PATH: install Debian's chromium package to check the archive in a browser",
)

LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3

PROBE = """
<script>
window.addEventListener("load", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  setTimeout(function () {
    var root = document.documentElement;
    var report = {
      fits: root.scrollWidth <= window.innerWidth,
      scrollWidth: root.scrollWidth,
      innerWidth: window.innerWidth,
      storyLinks: document.querySelectorAll('a[href*="#story-"]').length,
      storyAnchors: document.querySelectorAll('[id^="story-"]').length,
      tocTargets: Array.prototype.filter.call(document.querySelectorAll('nav.toc a[href^="#story-"]'), function (a) {
        var target = document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1)));
        return target !== null && target.getBoundingClientRect().width > 0;
      }).length,
      background: getComputedStyle(document.body).backgroundColor
    };
    document.title = "PROBE " + JSON.stringify(report);
    if (window.parent !== window) { window.parent.postMessage(report, "*"); }
  }, 200);
});
</script>
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three digests, one with an unbreakable word and markup in a story title, and their archive."""
    out = tmp_path_factory.mktemp("browser") / "digests"
    _write_day(out, date(2025, 4, 14), 2)
    _write_day(out, date(2025, 4, 15), 0)
    _write_day(out, date(2025, 4, 16), 4, s2=f"{LONG_WORD} <b>not bold</b>", s3="A very long headline " * 12)
    write_archive(out, title="Morning digest " + LONG_WORD)
    return out


def _measure(page: Path, width: int, *flags: str) -> dict[str, Any]:
    """The probe's report on a copy of `page` (kept next to it, so its links resolve) shown `width` px wide."""
    copy = page.with_name(f"probe-{width}-{len(flags)}-{page.name}")
    text = page.read_text(encoding="utf-8")
    probed = text.replace("</body>", PROBE + "</body>", 1)
    assert probed != text, "the page has no </body> to put the probe before"
    copy.write_text(probed, encoding="utf-8")
    wrapper = write_frame(page.with_name(f"frame-{width}-{len(flags)}-{page.name}"), copy.name, width, 800)
    try:
        report, _dom = probe_report(wrapper, max(width + 100, 600), *flags, timeout=30)
    finally:
        copy.unlink()
        wrapper.unlink()
    return report


@pytest.mark.parametrize("width", [375, 1200])
def test_archive_page_fits_the_screen_and_links_every_story(folder: Path, width: int) -> None:
    report = _measure(folder / "index.html", width)
    assert report["innerWidth"] == width
    assert report["fits"], report
    assert report["storyLinks"] == 6, report


@pytest.mark.parametrize("width", [375, 1200])
def test_digest_page_fits_the_screen_and_has_an_anchor_per_story(folder: Path, width: int) -> None:
    report = _measure(folder / "2025-04-16.html", width)
    assert report["innerWidth"] == width
    assert report["fits"], report
    assert report["storyAnchors"] == 4, report
    assert report["tocTargets"] == 4, report  # the contents at the top jump to every story's card


def test_archive_page_follows_the_dark_color_scheme(folder: Path) -> None:
    light = _measure(folder / "index.html", 375)
    dark = _measure(folder / "index.html", 375, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
    assert light["background"] == "rgb(243, 244, 246)", light
    assert dark["background"] == "rgb(22, 24, 29)", dark
    assert dark["fits"], dark
