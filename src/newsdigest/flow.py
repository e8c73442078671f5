"""The daily digest flow: Prefect wiring around the stages in newsdigest; no business logic here."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from newsdigest import progress
from newsdigest.cleaning.boilerplate import MemoryBank, process_line_cache, source_key
from newsdigest.config.settings import Config, FetchSettings, load_config
from newsdigest.delivery.files import write_digest_files
from newsdigest.delivery.mail import delivery_failure_notes, send_due
from newsdigest.digest.archive import write_archive
from newsdigest.digest.assemble import build_digest
from newsdigest.digest.filters import make_rules
from newsdigest.digest.render import render_digest
from newsdigest.errors import FetchError
from newsdigest.models import Article, FeedEntry, Source, SourceResult, SourceStatus
from newsdigest.sources.fetch import Fetcher, Validators
from newsdigest.sources.health import SourceHealth, footer_reason, is_due, updated_health, waiting_result
from newsdigest.sources.ingest import (
    Window,
    build_articles,
    digest_window,
    read_source,
    resolve_digest_date,
    select_new_entries,
)
from newsdigest.store import Store, state_for_dry_run
from newsdigest.stories.dedup import NewDocument, StoryAssigner

BOILERPLATE_RETENTION_DAYS = 30  # a line seen once and not again within this long is article text
# Per source key, line hash -> pages seen: what a batch's pages taught the boilerplate memory.
LearnedLines = dict[str, dict[str, int]]
ARTICLE_BATCH = 25  # entries per cleaning task: Prefect's per-task cost stays small next to the work
DEDUP_CHUNK = 1000  # cleaned articles deduplicated and saved together: one transaction, one task run
# Cleaning batches submitted ahead of the flow's consumption: two chunks' worth keeps every worker busy.
BATCHES_AHEAD = 2 * DEDUP_CHUNK // ARTICLE_BATCH
# Task arguments are passed quote()d: Prefect would otherwise walk every entry, article and setting
# of each call looking for upstream results (CPU in the flow) and store the references it finds with
# the task run and each of its state events (about 10 KB a run). Dependencies here are the flow's code.


def _submitted(value: Any) -> Any:
    """An argument of a submitted task, quoted where the task runs in this process.

    Tasks sent to Dask workers get the wrapper itself (a tuple) instead of the value, so there the
    argument goes as it is.
    """
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    context = FlowRunContext.get()
    return quote(value) if context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner) else value


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the command line and the tests."""

    digest_date: date
    files: dict[str, str]
    stories: int
    new_articles: int
    failed_sources: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # recipient -> how this date's delivery ended
    planned: list[str] = field(default_factory=list)  # a dry run: what would be fetched and sent
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage, as the flow saw it


class _StageClock:
    """Wall time between the flow's stages, for the run summary and the pipeline benchmark."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        # A stage met more than once (fetching and deduplicating take turns) adds up.
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 4)
        self._last = now


def _dry_run_summary(
    config: Config, day: date, results: list[SourceResult], entries: list[FeedEntry], page_sources: set[str]
) -> RunSummary:
    """What a real run would do next: the new entries, the pages it would fetch, who it would mail."""
    plan = [f"digest {day.isoformat()} would be written to {config.digest.out_dir}"]
    for result in results:
        state = f"{len(result.entries)} entries" if result.ok else f"failed: {result.error}"
        plan.append(f"source {result.source}: {state}")
    for entry in entries:
        fetch = " (page would be fetched)" if entry.source in page_sources and entry.url else ""
        plan.append(f"new: {entry.title} <{entry.url or 'no link'}>{fetch}")
    if config.email.enabled:
        plan.extend(f"would send to: {recipient}" for recipient in config.email.to)
    return RunSummary(
        digest_date=day,
        files={},
        stories=0,
        new_articles=len(entries),
        failed_sources={r.source: r.error or "" for r in results if not r.ok},
        planned=plan,
    )


@task(name="load-source-health", cache_policy=NO_CACHE)
def load_health_task(state: str) -> dict[str, SourceHealth]:
    """Each source's health from earlier runs: validators, failures, when it may be checked next."""
    store = Store.open(state)
    try:
        return store.source_health()
    finally:
        store.close()


@task(name="last-digest-time", cache_policy=NO_CACHE)
def last_digest_task(state: str, before: date) -> datetime | None:
    """When the previous digest was written: the start of a since-last-digest window."""
    store = Store.open(state)
    try:
        return store.last_digest_time(before)
    finally:
        store.close()


@task(name="read-source", cache_policy=NO_CACHE)
def read_source_task(
    source: Source, settings: FetchSettings, final_attempt: bool = True, validators: Validators | None = None
) -> SourceResult:
    """Read one feed or text folder; a transient failure raises so that Prefect retries it."""
    with Fetcher(settings) as fetcher:
        result = read_source(source, fetcher, validators)
    if result.ok or not result.retryable or final_attempt:
        progress.reporter().advance("sources")
    if not result.ok and result.retryable and not final_attempt:
        raise FetchError(result.error or "transient failure", retryable=True)
    return result


@task(name="select-new-entries", cache_policy=NO_CACHE)
def select_entries_task(results: list[SourceResult], window: Window, state: str) -> list[FeedEntry]:
    """Entries in the window that the store has not seen."""
    from newsdigest.stories.dedup import canonical_url

    entries = [entry for result in results for entry in result.entries]
    store = Store.open(state)
    try:
        urls = [url for url in (canonical_url(e.url) for e in entries) if url]
        seen_urls, seen_guids = store.known_keys(urls, [e.guid for e in entries])
    finally:
        store.close()
    return select_new_entries(entries, window, seen_urls, seen_guids)


@task(name="fetch-and-clean", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def build_articles_task(
    entries: list[FeedEntry], config: Config, page_sources: set[str], memory_revision: tuple[str, int] = ("", 0)
) -> tuple[list[Article], LearnedLines]:
    """Fetch pages where needed and clean a batch of entries into articles, with each source's line memory.

    `memory_revision` (the run, the chunks it has saved) says when the stored lines may have changed.
    """
    logger = get_run_logger()
    memories = None
    if config.clean.source_memory:
        min_pages = config.clean.memory_min_pages
        memories = MemoryBank(min_pages=min_pages)
        keys = {entry.source for entry in entries} | {source_key(e.url, e.source) for e in entries if e.url}

        def load(missing: list[str]) -> dict[str, dict[str, int]]:
            store = Store.open(config.state)
            try:
                # Only lines already seen on enough pages to be removed: a busy host's single sightings
                # run to hundreds of thousands.
                return store.boilerplate_counts(missing, min_pages)
            finally:
                store.close()

        run, revision = memory_revision
        stored = process_line_cache().counts((config.state, min_pages, run), revision, keys, load)
        for key, counts in stored.items():
            memories.for_source(key, counts)
    with Fetcher(config.fetch, trusted_hosts=config.source_hosts()) as fetcher:
        articles, warnings = build_articles(entries, fetcher, page_sources, memories)
    for warning in warnings:
        logger.warning(warning)
    progress.reporter().advance("articles", len(entries))
    # The lines learned go back to the flow, which stores them with the chunk's articles: one writer,
    # so batch tasks never wait on (or time out against) the store's write lock.
    return articles, memories.learned() if memories is not None else {}


@task(name="load-dedup-history", cache_policy=NO_CACHE)
def dedup_history_task(config: Config, digest_date: date, now: datetime) -> StoryAssigner:
    """Prune what aged out, then load the recent articles' signatures that new ones are compared with."""
    store = Store.open(config.state)
    try:
        since = digest_date - timedelta(days=config.dedup.retention_days)
        store.prune(since)
        store.prune_boilerplate(now - timedelta(days=BOILERPLATE_RETENTION_DAYS))
        return StoryAssigner(
            store.dedup_records(since),
            near_duplicate_threshold=config.dedup.near_duplicate_threshold,
            story_threshold=config.dedup.story_threshold,
        )
    finally:
        store.close()


@task(name="deduplicate-and-store", cache_policy=NO_CACHE)
def dedup_task(
    assigner: StoryAssigner,
    articles: list[Article],
    config: Config,
    digest_date: date,
    now: datetime,
    learned: LearnedLines | None = None,
) -> int:
    """Mark duplicates and group a chunk of articles into stories, save the chunk, then the lines its pages taught."""
    records = assigner.assign([NewDocument(a.article_id, a.title, a.text) for a in articles])
    store = Store.open(config.state)
    try:
        saved = store.save_articles(list(zip(articles, records, strict=True)), digest_date, now)
        if learned:
            store.add_boilerplate(learned, now)
        return saved
    finally:
        store.close()


def _add_learned(total: LearnedLines, more: LearnedLines) -> None:
    """Sum per-source line counts of several batches."""
    for key, counts in more.items():
        into = total.setdefault(key, {})
        for line_hash, pages in counts.items():
            into[line_hash] = into.get(line_hash, 0) + pages


@task(name="render-and-write", cache_policy=NO_CACHE)
def render_task(
    config: Config,
    digest_date: date,
    now: datetime,
    statuses: list[SourceStatus],
    new_articles: int,
    health: list[SourceHealth],
) -> tuple[dict[str, str], int, str]:
    """Assemble the day's stories, render every format, write the files atomically, record the digest."""
    store = Store.open(config.state)
    try:
        digest = build_digest(
            store,
            digest_date,
            title=config.digest.title,
            generated_at=now,
            word_budget=config.digest.words_per_story,
            max_stories=config.digest.max_stories,
            timezone=config.digest.timezone,
            sources=statuses,
            new_articles=new_articles,
            rules=make_rules(config.filters, config.sources),
            sections=config.digest.sections,
            summarizer=config.summarizer,
        )
        # Deliveries that failed since the previous digest go in this one's footer.
        digest = replace(digest, notes=digest.notes + delivery_failure_notes(store, digest_date))
        rendered = render_digest(digest)
        paths = write_digest_files(rendered, config.digest.out_dir, digest_date)
        files = {ext: str(path) for ext, path in paths.items()}
        # The archive page and the Atom feed, rebuilt from every digest now in the folder.
        write_archive(config.digest.out_dir, title=config.digest.title, base_url=config.digest.base_url)
        article_count = sum(len(story.articles) for story in digest.stories)
        store.record_digest(digest_date, now, len(digest.stories), article_count, list(files.values()))
        # Saved last: a run that dies before this point re-reads its feeds without validators.
        store.save_source_health(health)
    finally:
        store.close()
    return files, len(digest.stories), rendered["md"]


@task(name="send-digest", cache_policy=NO_CACHE)
def send_task(config: Config, digest_date: date) -> dict[str, str]:
    """Mail the written digest to each recipient once, through the store's outbox; no Prefect retries on top."""
    logger = get_run_logger()
    outcomes: dict[str, str] = {}
    for report in send_due(config, digest_date):
        for recipient, outcome in report.outcomes.items():
            error = report.errors.get(recipient)
            line = f"email of {report.digest_date} to {recipient}: {outcome}" + (f" ({error})" if error else "")
            (logger.warning if error else logger.info)(line)
            if report.digest_date == digest_date:
                outcomes[recipient] = outcome
    return outcomes


def _source_results(config: Config, health: dict[str, SourceHealth], now: datetime) -> list[SourceResult]:
    retries = max(config.fetch.retries, 0)
    due = [source for source in config.sources if is_due(health.get(source.name), now)]
    futures = {
        source.name: read_source_task.with_options(
            retries=retries, retry_delay_seconds=[2, 10, 30][:retries] or None
        ).submit(
            _submitted(source),
            _submitted(config.fetch),
            final_attempt=False,
            validators=_submitted(_validators(health.get(source.name))),
        )
        for source in due
    }
    results: list[SourceResult] = []
    for source in config.sources:
        if source.name not in futures:
            results.append(waiting_result(health[source.name]))
            continue
        future = futures[source.name]
        state = future.wait() or future.state
        if state.is_completed():
            results.append(future.result())
        else:
            # Retries used up on a transient failure: one last plain try tells the final reason.
            results.append(
                read_source_task.with_options(retries=0)(
                    quote(source),
                    quote(config.fetch),
                    final_attempt=True,
                    validators=quote(_validators(health.get(source.name))),
                )
            )
    return results


def _validators(health: SourceHealth | None) -> Validators | None:
    if health is None or not (health.etag or health.last_modified):
        return None
    return Validators(etag=health.etag, last_modified=health.last_modified)


@flow(name="daily_digest", log_prints=True)
def daily_digest(
    config_path: str = "seeds/sources.toml",
    digest_date: str | None = None,
    out_dir: str | None = None,
    state: str | None = None,
    sources: list[str] | None = None,
    dry_run: bool = False,
) -> RunSummary:
    """Fetch what is new, clean, deduplicate, group into stories, summarize claims and write the digest.

    A dry run reads the sources and reports what would be fetched and sent, and writes nothing.
    """
    logger = get_run_logger()
    config = load_config(config_path).with_overrides(
        digest_date=date.fromisoformat(digest_date) if digest_date else None,
        out_dir=Path(out_dir) if out_dir else None,
        state=state,
    )
    if sources:
        config = config.with_sources(sources)
    if dry_run:
        # A dry run writes nothing: not even the state file a first run would create.
        config = config.with_overrides(state=state_for_dry_run(config.state))
    now = datetime.now(UTC)
    day = resolve_digest_date(config.digest.date, config.digest.timezone, now)
    since = last_digest_task(config.state, day) if config.digest.since_last_digest else None
    window = digest_window(day, config.digest.timezone, config.digest.window_hours, now, since)

    previous_health = load_health_task(config.state)
    progress.reporter().start("sources", len(config.sources))
    clock = _StageClock()
    results = _source_results(config, previous_health, now)
    clock.lap("read_sources")
    health = {r.source: updated_health(previous_health.get(r.source), r, now, config.fetch) for r in results}
    for result in results:
        if not result.ok:
            logger.warning("source %r failed: %s", result.source, result.error)
        elif result.warning:
            logger.warning("source %r: %s", result.source, result.warning)

    entries = select_entries_task(quote(results), quote(window), config.state)
    clock.lap("select")
    page_sources = {source.name for source in config.sources if source.fetch_pages}
    if dry_run:
        return _dry_run_summary(config, day, results, entries, page_sources)
    progress.reporter().start("articles", len(entries))
    batches = iter([entries[i : i + ARTICLE_BATCH] for i in range(0, len(entries), ARTICLE_BATCH)])
    # Only so many batches are submitted ahead of the one being consumed: cleaning outpaces dedup, and
    # every finished batch holds its articles' text until the flow takes it, so an unbounded queue
    # would hold a whole big day in memory.
    chunks_saved = 0

    def submit_batch(batch: list[FeedEntry]) -> Any:
        # Batches read the stored lines again only after the flow has saved a chunk: the revision says so.
        revision = (now.isoformat(), chunks_saved)
        return build_articles_task.submit(_submitted(batch), _submitted(config), _submitted(page_sources), revision)

    article_futures = deque(submit_batch(batch) for batch in islice(batches, BATCHES_AHEAD))
    # Cleaned batches are deduplicated and saved a chunk at a time, in submission order (so the result
    # does not depend on which batch finished first), and their text is let go of: memory stays flat in N.
    saved = 0
    new_by_source: dict[str, int] = {}
    # With nothing new (every feed answered 304, say) the story history is not even loaded.
    if article_futures:
        assigner = dedup_history_task(quote(config), day, now)
        clock.lap("dedup")
        chunk: list[Article] = []
        learned: LearnedLines = {}
        while article_futures:
            articles, batch_learned = article_futures.popleft().result()
            following = next(batches, None)
            if following is not None:
                article_futures.append(submit_batch(following))
            chunk.extend(articles)
            _add_learned(learned, batch_learned)
            if len(chunk) >= DEDUP_CHUNK or not article_futures:
                clock.lap("fetch_and_clean")
                saved += dedup_task(quote(assigner), quote(chunk), quote(config), day, now, quote(learned))
                chunks_saved += 1
                clock.lap("dedup")
                for article in chunk:
                    new_by_source[article.source] = new_by_source.get(article.source, 0) + 1
                chunk, learned = [], {}
        del assigner
    statuses = [
        SourceStatus(
            source=r.source,
            ok=r.ok,
            entries=len(r.entries),
            new_articles=new_by_source.get(r.source, 0),
            error=footer_reason(r, health[r.source], config.fetch),
            warning=r.warning,
        )
        for r in results
    ]
    files, story_count, markdown = render_task(
        quote(config), day, now, quote(statuses), saved, quote(list(health.values()))
    )
    clock.lap("claims_and_render")
    emails = send_task(quote(config), day) if config.email.enabled else {}
    clock.lap("email")
    create_markdown_artifact(markdown=markdown, key="daily-digest", description=f"News digest for {day.isoformat()}")
    logger.info("digest for %s: %d stories, %d new articles -> %s", day, story_count, saved, files.get("md"))
    return RunSummary(
        digest_date=day,
        files=files,
        stories=story_count,
        new_articles=saved,
        failed_sources={r.source: r.error or "" for r in results if not r.ok},
        emails=emails,
        seconds=clock.seconds,
    )


def share_temporary_server() -> None:
    """Make sure local worker processes report to this process's Prefect API, starting the temporary one if need be.

    Without PREFECT_API_URL in its environment, each process that records a task run starts a
    temporary server of its own: every local Dask worker process would start one (seconds each,
    left running after the run) and report its task runs there, not to the flow's server.
    """
    from prefect.settings import PREFECT_API_URL

    if os.environ.get("PREFECT_API_URL"):
        return
    url = PREFECT_API_URL.value()  # a profile's or a test harness's setting, which workers may not see
    if not url:
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()  # the same instance the flow's own client starts and uses
        server.start()
        url = server.api_url
    # Worker processes are spawned after this and read the variable when they import Prefect.
    os.environ["PREFECT_API_URL"] = url


def flow_for(config: Config) -> Any:
    """The flow with the task runner the configuration asks for (Dask processes, or threads)."""
    if config.run.task_runner != "dask":
        return daily_digest
    from prefect_dask import DaskTaskRunner

    if config.run.dask_address:
        runner = DaskTaskRunner(address=config.run.dask_address)
    else:
        share_temporary_server()
        cluster = {"n_workers": config.run.dask_workers, "threads_per_worker": 1, "processes": True}
        # The local cluster's own logs are silenced: its shutdown logs "comms closed" tracebacks that
        # are not errors, and a task's real failure reaches the flow through Prefect's task states.
        quiet = {"dashboard_address": None, "silence_logs": logging.CRITICAL}
        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # the scheduler side, in this process
        runner = DaskTaskRunner(cluster_kwargs={**cluster, **quiet})
    return daily_digest.with_options(task_runner=runner)
