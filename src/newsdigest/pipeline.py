"""The run's steps in order, as plain functions: each opens the store it needs and closes it again.

The Prefect flow (newsdigest.flow) wraps these steps in tasks; the pipeline benchmark calls them
without Prefect. Neither re-states what a step does, so the two cannot drift apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from newsdigest.cleaning.articles import build_articles
from newsdigest.cleaning.boilerplate import MemoryBank, process_line_cache, source_key
from newsdigest.config.records import Config, FetchSettings
from newsdigest.delivery.files import write_digest_files
from newsdigest.delivery.outbox import DeliveryReport, delivery_failure_notes, send_due
from newsdigest.digest.archive import write_archive
from newsdigest.digest.assemble import build_digest
from newsdigest.digest.filters import make_rules
from newsdigest.digest.render import render_digest
from newsdigest.models import (
    Article,
    FeedEntry,
    NewDocument,
    Source,
    SourceHealth,
    SourceResult,
    SourceStatus,
    Validators,
)
from newsdigest.sources.fetch import Fetcher, robots_for_run
from newsdigest.sources.health import footer_reason, is_due, updated_health, waiting_result
from newsdigest.sources.readers import read_source
from newsdigest.sources.window import Window, digest_window, resolve_digest_date, select_new_entries
from newsdigest.store import Store, state_for_dry_run
from newsdigest.stories.assign import StoryAssigner
from newsdigest.stories.urls import canonical_url

ARTICLE_BATCH = 25  # entries per cleaning batch: a task's fixed cost stays small next to the work
DEDUP_CHUNK = 1000  # cleaned articles deduplicated and saved together: one transaction
# Cleaning batches submitted ahead of the consumer: two chunks' worth keeps every worker busy while
# holding at most that many cleaned texts in memory.
BATCHES_AHEAD = 2 * DEDUP_CHUNK // ARTICLE_BATCH
BOILERPLATE_RETENTION_DAYS = 30  # a line seen once and not again within this long is article text

# Per source key, line hash -> pages seen: what a batch's pages taught the boilerplate memory.
LearnedLines = dict[str, dict[str, int]]


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
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage, as the run saw it

    @property
    def undelivered(self) -> dict[str, str]:
        """Recipients of this date's digest who do not have it, with how their delivery ended."""
        return {r: outcome for r, outcome in self.emails.items() if outcome != "sent" and "already" not in outcome}

    @property
    def partial(self) -> bool:
        """Whether the digest was written but some source or email failed."""
        return bool(self.failed_sources or self.undelivered)


@dataclass(frozen=True)
class RunPlan:
    """A run's settings after overrides, its digest date and the window of publication dates it admits."""

    config: Config
    day: date
    now: datetime
    window: Window
    page_sources: frozenset[str]  # sources whose teaser entries get their article page fetched


@dataclass(frozen=True)
class CleanedBatch:
    """A batch of entries cleaned into articles, the boilerplate lines its pages taught, and warnings."""

    articles: list[Article]
    learned: LearnedLines
    warnings: list[str]


@dataclass(frozen=True)
class PublishedDigest:
    """The written digest: its files by format, how many stories, and the Markdown for the run's artifact."""

    files: dict[str, str]
    stories: int
    markdown: str


class StageClock:
    """Wall time between a run's stages, for the run summary and the pipeline benchmark."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Charge the time since the last lap to `stage` (stages met more than once add up)."""
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 4)
        self._last = now


def plan_run(
    config: Config,
    now: datetime,
    *,
    digest_date: date | None = None,
    out_dir: str | None = None,
    state: str | None = None,
    sources: list[str] | None = None,
    dry_run: bool = False,
) -> RunPlan:
    """Apply a run's overrides to the configuration and fix its digest date and window."""
    config = config.with_overrides(digest_date=digest_date, out_dir=Path(out_dir) if out_dir else None, state=state)
    if sources:
        config = config.with_sources(sources)
    if dry_run:
        # A dry run writes nothing: not even the state file a first run would create.
        config = config.with_overrides(state=state_for_dry_run(config.state))
    day = resolve_digest_date(config.digest.date, config.digest.timezone, now)
    since = last_digest_time(config.state, day) if config.digest.since_last_digest else None
    window = digest_window(day, config.digest.timezone, config.digest.window_hours, now, since)
    page_sources = frozenset(source.name for source in config.sources if source.fetch_pages)
    return RunPlan(config=config, day=day, now=now, window=window, page_sources=page_sources)


def last_digest_time(state: str, before: date) -> datetime | None:
    """When the previous digest was written: the start of a since-last-digest window."""
    with Store.open(state) as store:
        return store.last_digest_time(before)


def load_health(state: str) -> dict[str, SourceHealth]:
    """Each source's health from earlier runs: validators, failures, when it may be checked next."""
    with Store.open(state) as store:
        return store.source_health()


def due_sources(config: Config, health: dict[str, SourceHealth], now: datetime) -> list[Source]:
    """The configured sources whose wait after earlier failures is over."""
    return [source for source in config.sources if is_due(health.get(source.name), now)]


def validators_for(health: SourceHealth | None) -> Validators | None:
    """The conditional-GET validators a source's last answer left, if any."""
    if health is None or not (health.etag or health.last_modified):
        return None
    return Validators(etag=health.etag, last_modified=health.last_modified)


def read_one_source(source: Source, settings: FetchSettings, validators: Validators | None = None) -> SourceResult:
    """Read one feed or text folder with a fetcher of its own."""
    with Fetcher(settings) as fetcher:
        return read_source(source, fetcher, validators)


def in_config_order(
    config: Config, previous: dict[str, SourceHealth], read: dict[str, SourceResult]
) -> list[SourceResult]:
    """Every configured source's result in the configuration's order; one not read this run is still waiting."""
    return [read[s.name] if s.name in read else waiting_result(previous[s.name]) for s in config.sources]


def updated_healths(
    previous: dict[str, SourceHealth], results: list[SourceResult], now: datetime, settings: FetchSettings
) -> dict[str, SourceHealth]:
    """Each read source's health after this run's result."""
    return {r.source: updated_health(previous.get(r.source), r, now, settings) for r in results}


def select_entries(results: list[SourceResult], window: Window, state: str) -> list[FeedEntry]:
    """Entries in the window that the store has not seen."""
    entries = [entry for result in results for entry in result.entries]
    urls = [url for url in (canonical_url(e.url) for e in entries) if url]
    with Store.open(state) as store:
        seen_urls, seen_guids = store.known_keys(urls, [e.guid for e in entries])
    return select_new_entries(entries, window, seen_urls, seen_guids)


def batches_of(entries: list[FeedEntry], size: int | None = None) -> list[list[FeedEntry]]:
    """The entries cut into cleaning batches, in order."""
    size = size or ARTICLE_BATCH
    return [entries[i : i + size] for i in range(0, len(entries), size)]


def clean_batch(
    entries: list[FeedEntry], config: Config, page_sources: frozenset[str], memory_revision: tuple[str, int] = ("", 0)
) -> CleanedBatch:
    """Fetch pages where needed and clean a batch of entries into articles, with each source's line memory.

    `memory_revision` (the run, the chunks it has saved) says when the stored lines may have changed.
    """
    memories = None
    if config.clean.source_memory:
        min_pages = config.clean.memory_min_pages
        memories = MemoryBank(min_pages=min_pages)
        keys = {entry.source for entry in entries} | {source_key(e.url, e.source) for e in entries if e.url}

        def load(missing: list[str]) -> dict[str, dict[str, int]]:
            # Only lines already seen on enough pages to be removed: a busy host's single sightings run
            # to hundreds of thousands.
            with Store.open(config.state) as store:
                return store.boilerplate_counts(missing, min_pages)

        run, revision = memory_revision
        stored = process_line_cache().counts((config.state, min_pages, run), revision, keys, load)
        for key, counts in stored.items():
            memories.for_source(key, counts)
    # One robots.txt read per site and run in this process (a run without a name: per batch).
    robots = robots_for_run(memory_revision[0]) if memory_revision[0] else None
    exempt = {source.name for source in config.sources if not source.respect_robots}
    with Fetcher(config.fetch, trusted_hosts=config.source_hosts(), robots=robots) as fetcher:
        articles, warnings = build_articles(entries, fetcher, set(page_sources), memories, robots_exempt=exempt)
    # The lines learned go back to the caller, which stores them with the chunk's articles: one writer,
    # so cleaning batches never wait on (or time out against) the store's write lock.
    return CleanedBatch(articles, memories.learned() if memories is not None else {}, list(warnings))


def add_learned(total: LearnedLines, more: LearnedLines) -> None:
    """Sum per-source line counts of several batches into `total`."""
    for key, counts in more.items():
        into = total.setdefault(key, {})
        for line_hash, pages in counts.items():
            into[line_hash] = into.get(line_hash, 0) + pages


def load_story_history(config: Config, day: date, now: datetime) -> StoryAssigner:
    """Prune what aged out, then load the recent articles' signatures that new ones are compared with."""
    since = day - timedelta(days=config.dedup.retention_days)
    with Store.open(config.state) as store:
        store.prune(since)
        store.prune_boilerplate(now - timedelta(days=BOILERPLATE_RETENTION_DAYS))
        return StoryAssigner(
            store.dedup_records(since),
            near_duplicate_threshold=config.dedup.near_duplicate_threshold,
            story_threshold=config.dedup.story_threshold,
        )


def save_chunk(
    assigner: StoryAssigner,
    articles: list[Article],
    config: Config,
    day: date,
    now: datetime,
    learned: LearnedLines | None = None,
) -> int:
    """Mark duplicates and group a chunk of articles into stories, save it, then the lines its pages taught."""
    records = assigner.assign([NewDocument(a.article_id, a.title, a.text) for a in articles])
    with Store.open(config.state) as store:
        saved = store.save_articles(list(zip(articles, records, strict=True)), day, now)
        if learned:
            store.add_boilerplate(learned, now)
    return saved


def source_statuses(
    results: list[SourceResult],
    health: dict[str, SourceHealth],
    new_by_source: dict[str, int],
    settings: FetchSettings,
) -> list[SourceStatus]:
    """How each source fared, for the digest's footer."""
    return [
        SourceStatus(
            source=r.source,
            ok=r.ok,
            entries=len(r.entries),
            new_articles=new_by_source.get(r.source, 0),
            error=footer_reason(r, health[r.source], settings),
            warning=r.warning,
        )
        for r in results
    ]


def publish_digest(
    config: Config,
    day: date,
    now: datetime,
    statuses: list[SourceStatus],
    new_articles: int,
    health: list[SourceHealth],
) -> PublishedDigest:
    """Assemble the day's stories, render every format, write the files atomically, record the digest."""
    with Store.open(config.state) as store:
        digest = build_digest(
            store,
            day,
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
        digest = replace(digest, notes=digest.notes + delivery_failure_notes(store, day))
        rendered = render_digest(digest)
        paths = write_digest_files(rendered, config.digest.out_dir, day)
        files = {ext: str(path) for ext, path in paths.items()}
        # The archive page and the Atom feed, rebuilt from every digest now in the folder.
        write_archive(config.digest.out_dir, title=config.digest.title, base_url=config.digest.base_url)
        article_count = sum(len(story.articles) for story in digest.stories)
        store.record_digest(day, now, len(digest.stories), article_count, list(files.values()))
        # Saved last: a run that dies before this point re-reads its feeds without validators.
        store.save_source_health(health)
    return PublishedDigest(files=files, stories=len(digest.stories), markdown=rendered["md"])


def send_digests(config: Config, day: date) -> list[DeliveryReport]:
    """Mail the written digest (and any unfinished ones of the last days) once per recipient."""
    return send_due(config, day)


def delivery_lines(reports: list[DeliveryReport]) -> list[tuple[str, bool]]:
    """One log line per recipient and digest date, with whether it reports a failure."""
    lines: list[tuple[str, bool]] = []
    for report in reports:
        for recipient, outcome in report.outcomes.items():
            error = report.errors.get(recipient)
            lines.append(
                (
                    f"email of {report.digest_date} to {recipient}: {outcome}" + (f" ({error})" if error else ""),
                    bool(error),
                )
            )
    return lines


def outcomes_for(reports: list[DeliveryReport], day: date) -> dict[str, str]:
    """How this date's delivery ended, per recipient."""
    return {
        recipient: outcome
        for report in reports
        if report.digest_date == day
        for recipient, outcome in report.outcomes.items()
    }


def health_rows(statuses: list[SourceStatus]) -> list[dict[str, str | int]]:
    """Each source's outcome as a table row, for the run's source-health artifact."""
    return [
        {
            "source": status.source,
            "status": "ok" if status.ok else "failed",
            "entries": status.entries,
            "new articles": status.new_articles,
            "problem": status.error or status.warning or "",
        }
        for status in statuses
    ]


def dry_run_summary(plan: RunPlan, results: list[SourceResult], entries: list[FeedEntry]) -> RunSummary:
    """What a real run would do next: the new entries, the pages it would fetch, who it would mail."""
    config = plan.config
    lines = [f"digest {plan.day.isoformat()} would be written to {config.digest.out_dir}"]
    for result in results:
        state = f"{len(result.entries)} entries" if result.ok else f"failed: {result.error}"
        lines.append(f"source {result.source}: {state}")
    for entry in entries:
        fetch = " (page would be fetched)" if entry.source in plan.page_sources and entry.url else ""
        lines.append(f"new: {entry.title} <{entry.url or 'no link'}>{fetch}")
    if config.email.enabled:
        lines.extend(f"would send to: {recipient}" for recipient in config.email.to)
    return RunSummary(
        digest_date=plan.day,
        files={},
        stories=0,
        new_articles=len(entries),
        failed_sources=failed_sources(results),
        planned=lines,
    )


def failed_sources(results: list[SourceResult]) -> dict[str, str]:
    """Each source that could not be read, with its reason."""
    return {r.source: r.error or "" for r in results if not r.ok}


def count_by_source(articles: list[Article], into: dict[str, int]) -> None:
    """Add each article to its source's count of new articles."""
    for article in articles:
        into[article.source] = into.get(article.source, 0) + 1


def run_without_prefect(plan: RunPlan, threads: int = 8) -> RunSummary:
    """The same steps as the flow, as plain calls on thread pools (no Prefect, no email): the benchmark's yardstick."""
    from concurrent.futures import ThreadPoolExecutor

    config, clock = plan.config, StageClock()
    previous = load_health(config.state)
    sources = due_sources(config, previous, plan.now)
    with ThreadPoolExecutor(threads) as pool:
        read = pool.map(lambda s: read_one_source(s, config.fetch, validators_for(previous.get(s.name))), sources)
        results = in_config_order(config, previous, {result.source: result for result in read})
    clock.lap("read_sources")
    health = updated_healths(previous, results, plan.now, config.fetch)
    entries = select_entries(results, plan.window, config.state)
    clock.lap("select")
    saved, new_by_source = 0, dict[str, int]()
    if entries:
        assigner = load_story_history(config, plan.day, plan.now)
        with ThreadPoolExecutor(threads) as pool:
            cleaned = list(pool.map(lambda b: clean_batch(b, config, plan.page_sources), batches_of(entries)))
        clock.lap("fetch_and_clean")
        learned: LearnedLines = {}
        articles = [article for batch in cleaned for article in batch.articles]
        for batch in cleaned:
            add_learned(learned, batch.learned)
        for start in range(0, len(articles), DEDUP_CHUNK):
            chunk = articles[start : start + DEDUP_CHUNK]
            saved += save_chunk(assigner, chunk, config, plan.day, plan.now, learned if start == 0 else None)
            count_by_source(chunk, new_by_source)
        clock.lap("dedup")
    statuses = source_statuses(results, health, new_by_source, config.fetch)
    published = publish_digest(config, plan.day, plan.now, statuses, saved, list(health.values()))
    clock.lap("claims_and_render")
    return RunSummary(
        digest_date=plan.day,
        files=published.files,
        stories=published.stories,
        new_articles=saved,
        failed_sources=failed_sources(results),
        seconds=clock.seconds,
    )
