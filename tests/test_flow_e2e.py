"""The daily flow end to end under Prefect's test harness: seeds in, digest files out."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SEED_ARTICLE, SEEDS, LocalServer

pytestmark = pytest.mark.slow
GOLDEN = ROOT / "tests" / "golden" / "seeds-2025-04-16.md"


def _mask(markdown: str) -> str:
    return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d", "Generated <time>", markdown)


@pytest.fixture(scope="module")
def seeds_runs(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from newsdigest.flow import daily_digest

    work = tmp_path_factory.mktemp("seeds-run")
    args = {"config_path": str(SEEDS / "sources.toml"), "out_dir": str(work / "digests"), "state": str(work / "s.db")}
    first = daily_digest(**args)
    first_md = Path(first.files["md"]).read_text(encoding="utf-8")
    second = daily_digest(**args)
    return {"first": first, "second": second, "first_md": first_md, "work": work, "args": args}


def _digest_json(run: Any) -> dict[str, Any]:
    return json.loads(Path(run.files["json"]).read_text(encoding="utf-8"))


def _story_of(data: dict[str, Any], url: str) -> dict[str, Any]:
    for story in data["stories"]:
        if any(article["url"] == url for article in story["articles"]):
            return story
    raise AssertionError(f"no story lists {url}")


def test_all_four_formats_are_written(seeds_runs: dict[str, Any]) -> None:
    first = seeds_runs["first"]
    assert set(first.files) == {"md", "html", "txt", "json"}
    for path in first.files.values():
        assert Path(path).name.startswith("2025-04-16.") and Path(path).stat().st_size > 0
    assert not first.failed_sources
    assert first.new_articles >= 20


def test_seed_claims_are_in_the_digest_and_its_boilerplate_is_not(seeds_runs: dict[str, Any]) -> None:
    markdown = seeds_runs["first_md"]
    for needle in ("Cherniak", "11,000", "5,000", "6,000", "April 15", "Zelensky", "several hundred"):
        assert needle in markdown, needle
    rendered = {ext: Path(p).read_text(encoding="utf-8") for ext, p in seeds_runs["first"].files.items()}
    for line in SEED_ARTICLE.read_text(encoding="utf-8").strip().split("\n")[-4:]:
        for ext, text in rendered.items():
            body = json.dumps(json.loads(text)["stories"]) if ext == "json" else text
            assert line.strip() not in body.replace("\\", ""), (ext, line)


def test_page_boilerplate_never_reaches_the_digest(seeds_runs: dict[str, Any], manifest: dict[str, Any]) -> None:
    data = _digest_json(seeds_runs["first"])
    claims_text = " ".join(claim["text"] for story in data["stories"] for claim in story["claims"])
    for line in manifest["boilerplate_lines"]:
        assert line not in claims_text, line


def test_duplicates_collapse_and_old_entries_stay_out(seeds_runs: dict[str, Any], manifest: dict[str, Any]) -> None:
    data = _digest_json(seeds_runs["first"])
    all_urls = [article["url"] for story in data["stories"] for article in story["articles"]]
    plain = manifest["tracking_duplicate"]["plain_url"]
    tracked = manifest["tracking_duplicate"]["tracking_url"]
    assert all_urls.count(plain) + all_urls.count(tracked) == 1
    for url in manifest["old_entries"]:
        assert url not in all_urls
    for key in ("syndicated", "near_duplicate"):
        first, second = manifest[key]["urls"]
        story = _story_of(data, first)
        assert story is _story_of(data, second) or story == _story_of(data, second)
        copies = [a for a in story["articles"] if a["url"] in (first, second)]
        assert sum(1 for a in copies if a["duplicate_of"]) == 1, key


def test_same_event_reports_are_one_story(seeds_runs: dict[str, Any], manifest: dict[str, Any]) -> None:
    data = _digest_json(seeds_runs["first"])
    for left, right in manifest["same_event"]:
        story = _story_of(data, left)
        assert story["id"] == _story_of(data, right)["id"]
        assert story["outlet_count"] >= 2
    seed_story = _story_of(data, manifest["seed_event"]["urls"][0])
    assert "The Kyiv Independent" in seed_story["outlets"]


def test_second_run_finds_nothing_new_and_keeps_the_digest(seeds_runs: dict[str, Any]) -> None:
    second = seeds_runs["second"]
    assert second.new_articles == 0
    assert second.stories == seeds_runs["first"].stories
    second_md = Path(second.files["md"]).read_text(encoding="utf-8")
    # The same digest, header counts included: "25 new articles" counts the day's articles, not this run's.
    assert _mask(second_md) == _mask(seeds_runs["first_md"])


def test_the_run_learns_a_sites_recurring_line_and_removes_it(
    seeds_runs: dict[str, Any], manifest: dict[str, Any]
) -> None:
    from newsdigest.cleaning.boilerplate import line_key
    from newsdigest.store import Store

    recurring = manifest["recurring_line"]
    store = Store.open(seeds_runs["args"]["state"])
    try:
        counts = store.boilerplate_counts([recurring["host"]])[recurring["host"]]
        texts = [item.article.text for item in store.articles_for_digest(seeds_runs["first"].digest_date)]
    finally:
        store.close()
    assert counts[line_key(recurring["line"])] >= 3
    eastbank = [text for text in texts if "Eastbank" in text or "eastbank" in text]
    # The memory needs two sightings; every later page of the site comes without the line.
    assert sum(recurring["line"] in text for text in texts) <= 2 < len(eastbank)
    assert recurring["line"] not in seeds_runs["first_md"]


def test_golden_markdown(seeds_runs: dict[str, Any]) -> None:
    masked = _mask(seeds_runs["first_md"])
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(masked, encoding="utf-8")
    assert GOLDEN.exists(), "no golden file: run once with UPDATE_GOLDEN=1 and review it"
    assert masked == GOLDEN.read_text(encoding="utf-8")


def test_next_day_reports_only_what_is_new(seeds_runs: dict[str, Any], tmp_path: Path) -> None:
    from newsdigest.flow import daily_digest

    config = tmp_path / "next.toml"
    feed = tmp_path / "next.xml"
    feed.write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>Next</title><link>https://next.example/</link>
<description>d</description><item><title>HUR: North Korean troops could join Sumy push</title>
<link>https://next.example/hur.html</link><guid>next-1</guid><pubDate>Thu, 17 Apr 2025 07:00:00 GMT</pubDate>
<description>Ukraine's military intelligence spokesperson Andrii Cherniak told NHK that more than 11,000 North Korean
troops were sent to Kursk Oblast, that roughly 5,000 were killed or injured and 6,000 remain, and that they
may be used against Sumy and Kharkiv oblasts. Cherniak said the troops have learned to use drones.</description>
</item></channel></rss>""",
        encoding="utf-8",
    )
    text = (SEEDS / "sources.toml").read_text(encoding="utf-8")
    text = text.replace('date = "2025-04-16"', 'date = "2025-04-17"')
    text = re.sub(r'(path|url) = "(?!/)([^"]+)"', lambda m: f'{m.group(1)} = "{SEEDS / m.group(2)}"', text)
    text += f'\n[[sources]]\nname = "Next Day Post"\npath = "{feed}"\nfetch_pages = false\n'
    config.write_text(text, encoding="utf-8")
    work = seeds_runs["work"]
    for suffix in ("", "-wal", "-shm"):  # SQLite in WAL mode keeps recent writes beside the main file
        if (work / f"s.db{suffix}").exists():
            shutil.copy(work / f"s.db{suffix}", tmp_path / f"s.db{suffix}")
    run = daily_digest(config_path=str(config), out_dir=str(tmp_path / "out"), state=str(tmp_path / "s.db"))
    assert run.new_articles == 1
    data = _digest_json(run)
    assert len(data["stories"]) == 1
    (story,) = data["stories"]
    assert story["is_update"], "a new article on yesterday's story is an update"
    new = [a for a in story["articles"] if a["new"]]
    assert [a["url"] for a in new] == ["https://next.example/hur.html"]


def test_failed_sources_are_listed_and_the_digest_still_written(
    prefect_harness: None, http_server: LocalServer, tmp_path: Path
) -> None:
    from newsdigest.flow import daily_digest

    broken = http_server.add("/broken.xml", "<rss><channel><title>x</title><item><guid>", "application/rss+xml")
    down = http_server.add("/down.xml", "server error", status=500)
    html = http_server.add("/page.html", "<!DOCTYPE html><html><body>Hi</body></html>")
    config = tmp_path / "c.toml"
    config.write_text(
        f"""[digest]
date = "2025-04-16"
window_hours = 72
[fetch]
retries = 0
[[sources]]
name = "Seed"
path = "{SEED_ARTICLE.parent}"
kind = "text"
[[sources]]
name = "Broken feed"
url = "{broken}"
[[sources]]
name = "Down feed"
url = "{down}"
[[sources]]
name = "Not a feed"
url = "{html}"
""",
        encoding="utf-8",
    )
    state = daily_digest(
        config_path=str(config), out_dir=str(tmp_path / "out"), state=str(tmp_path / "s.db"), return_state=True
    )
    # Partial, not plain Completed: what an automation matches, with an event per failed source.
    assert state.is_completed() and state.name == "Partial"
    run = state.result()
    assert set(run.failed_sources) == {"Broken feed", "Down feed", "Not a feed"}
    assert "500" in run.failed_sources["Down feed"]
    markdown = Path(run.files["md"]).read_text(encoding="utf-8")
    assert "Sources that failed" in markdown and "HTTP 500" in markdown and "HTML page" in markdown
    assert "11,000" in markdown
    assert _failed_source_events(state.state_details.flow_run_id) == {
        source: reason for source, reason in run.failed_sources.items()
    }


def _failed_source_events(flow_run_id: Any) -> dict[str, str]:
    """The newsdigest.source.failed events the server recorded for one flow run (it persists them in batches)."""
    import time

    from prefect import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    wanted = EventFilter(
        event=EventNameFilter(name=["newsdigest.source.failed"]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
    )
    found: dict[str, str] = {}
    for _ in range(60):  # the event persister flushes every few seconds: wait for it, up to about 30 s
        with get_client(sync_client=True) as client:
            found = {
                e.payload["source"]: e.payload["reason"] for e in client.read_events(filter=wanted, limit=50).events
            }
        if len(found) >= 3:
            break
        time.sleep(0.5)
    return found


def test_small_batches_few_ahead_and_small_chunks_give_the_same_digest(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are submitted a few at a time and consumed in order: how many does not change the digest."""
    import newsdigest.flow as module
    from newsdigest import pipeline

    monkeypatch.setattr(pipeline, "ARTICLE_BATCH", 2)
    monkeypatch.setattr(pipeline, "BATCHES_AHEAD", 3)
    monkeypatch.setattr(pipeline, "DEDUP_CHUNK", 5)
    args = {"config_path": str(SEEDS / "sources.toml"), "out_dir": str(tmp_path / "d"), "state": str(tmp_path / "s.db")}
    summary = module.daily_digest(**args)
    assert summary.new_articles >= 20
    assert _mask(Path(summary.files["md"]).read_text(encoding="utf-8")) == GOLDEN.read_text(encoding="utf-8")


def test_task_runs_record_no_input_references(seeds_runs: dict[str, Any]) -> None:
    """Arguments go quoted: Prefect neither walks them nor stores references to upstream runs with each task run."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        # This module's runs only: the session's harness also holds other tests' runs (Dask's among them).
        flow_runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["daily_digest"])))
        ours = [run.id for run in flow_runs if run.parameters.get("state") == seeds_runs["args"]["state"]]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ours)))
    assert len(ours) == 2
    names = {run.name.rsplit("-", 1)[0] for run in task_runs}
    assert {"fetch-and-clean", "read-source", "deduplicate-and-store", "render-and-write"} <= names
    for run in task_runs:
        # Unquoted, a batch's 25 entries each listed the read-source run it came from (about 10 KB).
        assert all(not references for references in run.task_inputs.values()), (run.name, run.task_inputs)


def test_a_deployment_run_refuses_an_empty_state_file_before_reading(prefect_harness: None, tmp_path: Path) -> None:
    """Deployments and serve start the flow without the command line's store check: the flow checks it itself."""
    from newsdigest.errors import StoreError
    from newsdigest.flow import daily_digest

    state = tmp_path / "state.sqlite"
    state.write_bytes(b"")  # a truncated copy: opening it would silently start a new history
    with pytest.raises(StoreError, match="empty"):
        daily_digest(config_path=str(SEEDS / "sources.toml"), out_dir=str(tmp_path / "d"), state=str(state))
    assert state.stat().st_size == 0 and not (tmp_path / "d").exists()
