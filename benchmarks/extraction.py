"""Extraction benchmark: our cleaner against trafilatura, flattened-and-cleaned text and all visible text.

Run from the project root::

    python -m benchmarks.extraction --dataset DIR [--predictions FILE] [--json FILE] [--limit N]

DIR holds either ``ground-truth.json`` (scrapinghub layout, shingle metric) or ``evaldata.json``
(trafilatura-eval layout, with/without strings metric), and an ``html/`` folder of gzipped pages.

Each dataset is scored against its own definition of the main text: scrapinghub's articleBody
excludes the headline, so "ours" is our body; trafilatura-eval's strings include headlines and
standfirsts, so "ours" is the headline lines plus the body (``ExtractedPage.full_text``).

"ours + memory" runs on the pages of sites with more than one page, in id order, each site's
memory learning from the pages before (``--memory-min-pages``, default 1: the dev sets have
two or three pages a site); it is compared with "ours" on the same pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from benchmarks import _metrics
from newsdigest import __version__
from newsdigest.cleaning.boilerplate import MemoryBank, source_key
from newsdigest.cleaning.extract import ExtractedPage, extract_page
from newsdigest.cleaning.flat import clean_text

EXTRACTORS = ("ours", "trafilatura", "flattened", "all_text", "ours_multi", "memory")
PAGE_EXTRACTORS = ("ours", "trafilatura", "flattened", "all_text")
LABELS = {
    "ours": "ours",
    "trafilatura": "trafilatura",
    "flattened": "flattened",
    "all_text": "all text",
    "ours_multi": "ours, sites with several pages",
    "memory": "ours + memory, same pages",
}
SCRAPINGHUB = "scrapinghub"
TRAFILATURA_EVAL = "trafilatura-eval"


@dataclass
class Page:
    """One page of a dataset: its id, URL (if real), gzip path and reference data."""

    id: str
    url: str | None
    path: Path
    truth: str = ""
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Per-extractor outputs, timings and error counts, and per-page scores for later inspection."""

    outputs: dict[str, dict[str, str]] = field(default_factory=lambda: {name: {} for name in EXTRACTORS})
    ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in EXTRACTORS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXTRACTORS, 0))
    page_scores: dict[str, dict[str, tuple[float, float]]] = field(
        default_factory=lambda: {name: {} for name in EXTRACTORS}
    )
    counts: dict[str, _metrics.Counts] = field(default_factory=lambda: {name: _metrics.Counts() for name in EXTRACTORS})
    page_ms: dict[str, float] = field(default_factory=dict)


def _http_url(value: object) -> str | None:
    """The value if it is an http(s) URL, else None (trafilatura-eval keys are sometimes labels)."""
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def load_dataset(directory: Path) -> tuple[str, list[Page]]:
    """Detect the layout by its JSON file and list the pages in sorted id order."""
    html_dir = directory / "html"
    if (directory / "ground-truth.json").is_file():
        truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
        pages = [
            Page(
                id=key,
                url=_http_url(item.get("url")),
                path=html_dir / f"{key}.html.gz",
                truth=item.get("articleBody") or "",
            )
            for key, item in truth.items()
        ]
        kind = SCRAPINGHUB
    elif (directory / "evaldata.json").is_file():
        evaldata = json.loads((directory / "evaldata.json").read_text(encoding="utf-8"))
        pages = [
            Page(
                id=key,
                url=_http_url(key),
                path=html_dir / item["file"],
                with_=list(item.get("with") or []),
                without=list(item.get("without") or []),
            )
            for key, item in evaldata.items()
        ]
        kind = TRAFILATURA_EVAL
    else:
        raise SystemExit(f"{directory}: neither ground-truth.json nor evaldata.json found")
    return kind, sorted(pages, key=lambda page: page.id)


def read_html(path: Path) -> str | bytes:
    """Decompressed page: text if it is valid UTF-8, else the raw bytes for the extractors to decode."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def extract_trafilatura(html: str | bytes, url: str | None) -> str:
    """Trafilatura's main text with the precision-oriented settings."""
    return trafilatura.extract(html, url=url, favor_precision=True, include_comments=False) or ""


def visible_text(html: str | bytes) -> str:
    """All text of the page as BeautifulSoup sees it, one text node a line."""
    return BeautifulSoup(html, "lxml").get_text("\n")


def _timed(func: Callable[[], str | None]) -> tuple[str | None, float]:
    """Call func, returning its text (None on an exception) and the elapsed milliseconds."""
    start = time.perf_counter()
    try:
        result = func()
    except Exception:  # noqa: BLE001 - one bad page must never abort the run
        return None, (time.perf_counter() - start) * 1000
    return result or "", (time.perf_counter() - start) * 1000


def _ours_text(kind: str, page: ExtractedPage) -> str:
    """The part of our extraction that the dataset's truth describes (see the module docstring)."""
    return page.body if kind == SCRAPINGHUB else page.full_text


def extract_all(
    kind: str, html: str | bytes, url: str | None, names: Collection[str] = PAGE_EXTRACTORS
) -> Iterator[tuple[str, str | None, float]]:
    """Run the named extractors on one page: (name, text or None on error, milliseconds)."""
    if "ours" in names:
        yield ("ours", *_timed(lambda: _ours_text(kind, extract_page(html, url))))
    if "trafilatura" in names:
        yield ("trafilatura", *_timed(lambda: extract_trafilatura(html, url)))
    if "all_text" not in names and "flattened" not in names:
        return
    flat, flat_ms = _timed(lambda: visible_text(html))
    yield "all_text", flat, flat_ms
    if "flattened" not in names:
        return
    if flat is None:
        yield "flattened", None, flat_ms
    else:
        cleaned, clean_ms = _timed(lambda: clean_text(flat))
        yield "flattened", cleaned, flat_ms + clean_ms


def _score(kind: str, result: Run, name: str, page: Page, text: str) -> None:
    """Record one extractor's output for one page with the dataset's metric."""
    result.outputs[name][page.id] = text
    if kind == SCRAPINGHUB:
        result.page_scores[name][page.id] = _metrics.shingle_page_scores(text, page.truth)
        return
    counts = _metrics.with_without_counts(text, page.with_, page.without)
    result.counts[name].add(counts)
    result.page_scores[name][page.id] = (
        counts.tp / (counts.tp + counts.fp) if counts.tp + counts.fp else 1.0,
        counts.tp / (counts.tp + counts.fn) if counts.tp + counts.fn else 1.0,
    )


def run_memory(kind: str, pages: list[Page], result: Run, min_pages: int) -> None:
    """Re-run ours on the pages of sites with several pages, each site's memory learning as it goes."""
    by_site: dict[str, list[Page]] = {}
    for page in pages:
        by_site.setdefault(source_key(page.url, fallback=page.id), []).append(page)
    bank = MemoryBank(min_pages=min_pages)
    for site, site_pages in by_site.items():
        if len(site_pages) < 2:
            continue
        memory = bank.for_source(site)
        for page in site_pages:
            html = read_html(page.path)
            text, ms = _timed(
                lambda html=html, page=page, memory=memory: _ours_text(kind, extract_page(html, page.url, memory))
            )
            result.ms["memory"].append(ms)
            result.errors["memory"] += text is None
            _score(kind, result, "memory", page, text or "")
            _score(kind, result, "ours_multi", page, result.outputs["ours"][page.id])
            result.ms["ours_multi"].append(result.page_ms[page.id])


def run(kind: str, pages: list[Page], progress: bool = True, names: Collection[str] = PAGE_EXTRACTORS) -> Run:
    """Extract and score every page with the named extractors (all of them by default)."""
    result = Run()
    for number, page in enumerate(pages, 1):
        html = read_html(page.path)
        for name, text, ms in extract_all(kind, html, page.url, names):
            result.ms[name].append(ms)
            if name == "ours":
                result.page_ms[page.id] = ms
            if text is None:
                result.errors[name] += 1
            _score(kind, result, name, page, text or "")
        if progress and (number % 50 == 0 or number == len(pages)):
            print(f"  {number}/{len(pages)} pages", file=sys.stderr, flush=True)
    return result


def summarize(kind: str, result: Run) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and median ms/page of each extractor."""
    summary = {}
    for name in EXTRACTORS:
        if kind == SCRAPINGHUB:
            score = _metrics.shingle_score(result.page_scores[name].values())
        else:
            score = _metrics.counts_score(result.counts[name])
        timings = result.ms[name]
        summary[name] = {
            "f1": score.f1,
            "precision": score.precision,
            "recall": score.recall,
            "ms_per_page": statistics.median(timings) if timings else 0.0,
        }
    return summary


def compare_line(left: str, right: str, summary: dict[str, dict[str, float]]) -> str:
    """One line comparing two extractors' F1 and median time."""
    a, b = summary[left], summary[right]
    ratio = f"x{a['ms_per_page'] / b['ms_per_page']:.2f}" if b["ms_per_page"] else "x n/a"
    delta = a["f1"] - b["f1"]
    delta = 0.0 if abs(delta) < 0.0005 else delta  # no "-0.000"
    return (
        f"{LABELS[left]} vs {LABELS[right]}: F1 {a['f1']:.3f} vs {b['f1']:.3f} ({delta:+.3f}), "
        f"median {a['ms_per_page']:.1f} vs {b['ms_per_page']:.1f} ms/page ({ratio})"
    )


def report(kind: str, result: Run, summary: dict[str, dict[str, float]]) -> str:
    """The printed table and ratio lines; the last line is ours against trafilatura."""
    lines = [
        f"dataset: {kind}, {len(result.page_scores['ours'])} pages "
        f"({len(result.page_scores['memory'])} of them on sites with several pages)",
        f"{'extractor':<32} {'precision':>9} {'recall':>7} {'F1':>7} {'ms/page':>8} {'errors':>6}",
    ]
    for name in EXTRACTORS:
        row = summary[name]
        lines.append(
            f"{LABELS[name]:<32} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>7.3f} "
            f"{row['ms_per_page']:>8.1f} {result.errors[name]:>6d}"
        )
    lines.append("")
    if result.page_scores["memory"]:
        lines.append(compare_line("memory", "ours_multi", summary))
    lines.append(compare_line("flattened", "all_text", summary))
    lines.append(compare_line("ours", "flattened", summary))
    lines.append(compare_line("ours", "trafilatura", summary))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (tests/test_docs_commands.py parses the documented examples with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.extraction", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path, help="dataset folder (scrapinghub or trafilatura-eval)")
    parser.add_argument("--predictions", type=Path, help="write our outputs here as JSON")
    parser.add_argument("--json", type=Path, help="write the scores here as JSON")
    parser.add_argument("--limit", type=int, help="only the first N pages in sorted id order")
    parser.add_argument(
        "--memory-min-pages", type=int, default=1, help="pages a line must recur on to count as a site's boilerplate"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)

    # Trafilatura and htmldate log parse problems per page; the errors column is what counts here.
    for noisy in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    # A few pages are XHTML; the visible-text rows parse every page with the HTML parser on purpose.
    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)

    kind, pages = load_dataset(args.dataset)
    if args.limit is not None:
        pages = pages[: max(args.limit, 0)]
    result = run(kind, pages)
    run_memory(kind, pages, result, args.memory_min_pages)
    summary = summarize(kind, result)
    print(report(kind, result, summary))

    if args.predictions:
        output = {page_id: {"articleBody": text} for page_id, text in result.outputs["ours"].items()}
        args.predictions.write_text(
            json.dumps({"version": __version__, "output": output}, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    if args.json:
        document = {**summary, "dataset": args.dataset.name or kind, "pages": len(pages)}
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
