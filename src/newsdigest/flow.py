"""The daily digest flow: Prefect tasks around the steps of newsdigest.pipeline, and the flow that orders them.

Business logic lives in the pipeline's steps; this module decides only what Prefect adds: which steps
are task runs, retries, fan-out over sources and cleaning batches, the artifact, the task runner.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.states import Completed
from prefect.utilities.annotations import quote

from newsdigest import pipeline, progress
from newsdigest.config.load import load_config_once
from newsdigest.config.records import Config, FetchSettings
from newsdigest.errors import FetchError
from newsdigest.models import Article, FeedEntry, Source, SourceHealth, SourceResult, SourceStatus, Validators
from newsdigest.pipeline import LearnedLines, RunPlan, RunSummary
from newsdigest.sources.window import Window
from newsdigest.store import check_store_once
from newsdigest.stories.assign import StoryAssigner

# Task arguments are passed quoted: Prefect would otherwise walk every entry, article and setting
# of each call looking for upstream results (CPU in the flow) and store the references it finds with
# the task run and each of its state events (about 10 KB a run). Dependencies here are the flow's code.
T = TypeVar("T")


def _quoted(value: T) -> T:
    """An argument of a task called in the flow's process, quoted (typed as the value it stands for)."""
    return cast(T, quote(value))


def _submitted(value: Any) -> Any:
    """An argument of a submitted task, quoted where the task runs in this process.

    Tasks sent to Dask workers get the wrapper itself (a tuple) instead of the value, so there the
    argument goes as it is.
    """
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    context = FlowRunContext.get()
    return quote(value) if context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner) else value


@task(name="load-source-health", cache_policy=NO_CACHE)
def load_health_task(state: str) -> dict[str, SourceHealth]:
    """Each source's health from earlier runs."""
    return pipeline.load_health(state)


@task(name="read-source", cache_policy=NO_CACHE)
def read_source_task(
    source: Source, settings: FetchSettings, final_attempt: bool = True, validators: Validators | None = None
) -> SourceResult:
    """Read one feed or text folder; a transient failure raises so that Prefect retries it, within the source's budget.

    A source has `total_timeout` seconds in a run for all its attempts and the waits between them:
    each attempt fetches within what is left, and an attempt that could not start before the budget
    ends is not made. The last attempt (or one whose retry would come too late) returns its failure.
    """
    budget, last_attempt = _attempt_budget(settings)
    if budget is None:
        result = SourceResult(
            source=source.name, ok=False, error=f"out of its {settings.total_timeout:.0f}-second budget for this run"
        )
    else:
        result = pipeline.read_one_source(source, budget, validators)
        last_attempt = last_attempt or _attempt_budget(settings)[1]
    final = final_attempt or last_attempt
    if result.ok or not result.retryable or final:
        progress.reporter().advance("sources")
    if not result.ok and result.retryable and not final:
        raise FetchError(result.error or "transient failure", retryable=True)
    return result


def _attempt_budget(settings: FetchSettings) -> tuple[FetchSettings | None, bool]:
    """This attempt's fetch settings within what is left of the source's budget (None: nothing is), and whether no
    retry could start within it (the last attempt, or the wait before the next is longer than what is left)."""
    from dataclasses import replace

    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    started = context.task_run.start_time if context is not None else None
    if context is None or started is None:
        return settings, True  # called as a plain function: one attempt, the whole budget
    run, task = context.task_run, context.task
    # start_time is the first attempt's: Prefect keeps it across the retries of one task run.
    remaining = settings.total_timeout - (datetime.now(UTC) - started).total_seconds()
    delays: Any = task.retry_delay_seconds
    if isinstance(delays, list | tuple):
        next_delay = float(delays[min(run.run_count - 1, len(delays) - 1)]) if delays else 0.0
    else:
        next_delay = float(delays or 0)
    last = run.run_count > task.retries or remaining <= next_delay
    if remaining <= 0:
        return None, True
    budget = replace(
        settings,
        total_timeout=remaining,
        read_timeout=min(settings.read_timeout, remaining),
        connect_timeout=min(settings.connect_timeout, remaining),
    )
    return budget, last


@task(name="select-new-entries", cache_policy=NO_CACHE)
def select_entries_task(results: list[SourceResult], window: Window, state: str) -> list[FeedEntry]:
    """Entries in the window that the store has not seen."""
    return pipeline.select_entries(results, window, state)


@task(name="fetch-and-clean", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def clean_batch_task(
    entries: list[FeedEntry],
    config: Config,
    page_sources: frozenset[str],
    memory_revision: tuple[str, int] = ("", 0),
) -> tuple[list[Article], LearnedLines]:
    """Fetch pages where needed and clean a batch of entries into articles."""
    batch = pipeline.clean_batch(entries, config, page_sources, memory_revision)
    logger = get_run_logger()
    for warning in batch.warnings:
        logger.warning(warning)
    progress.reporter().advance("articles", len(entries))
    return batch.articles, batch.learned


@task(name="load-dedup-history", cache_policy=NO_CACHE)
def story_history_task(config: Config, digest_date: date, now: datetime) -> StoryAssigner:
    """Prune what aged out, then load the signatures new articles are compared with."""
    return pipeline.load_story_history(config, digest_date, now)


@task(name="deduplicate-and-store", cache_policy=NO_CACHE)
def save_chunk_task(
    assigner: StoryAssigner,
    articles: list[Article],
    config: Config,
    digest_date: date,
    now: datetime,
    learned: LearnedLines | None = None,
) -> int:
    """Mark duplicates, group a chunk of articles into stories and save it."""
    return pipeline.save_chunk(assigner, articles, config, digest_date, now, learned)


@task(name="render-and-write", cache_policy=NO_CACHE)
def publish_task(
    config: Config,
    digest_date: date,
    now: datetime,
    statuses: list[SourceStatus],
    new_articles: int,
    health: list[SourceHealth],
) -> pipeline.PublishedDigest:
    """Assemble, render and write the digest, and record it."""
    return pipeline.publish_digest(config, digest_date, now, statuses, new_articles, health)


@task(name="send-digest", cache_policy=NO_CACHE)
def send_task(config: Config, digest_date: date) -> dict[str, str]:
    """Mail the written digest to each recipient once, through the store's outbox; no Prefect retries on top."""
    logger = get_run_logger()
    reports = pipeline.send_digests(config, digest_date)
    for line, failed in pipeline.delivery_lines(reports):
        (logger.warning if failed else logger.info)(line)
    return pipeline.outcomes_for(reports, digest_date)


def _read_sources(config: Config, health: dict[str, SourceHealth], now: datetime) -> list[SourceResult]:
    """A task run per due source, with Prefect's retries for transient failures."""
    retries = max(config.fetch.retries, 0)
    retrying = read_source_task.with_options(retries=retries, retry_delay_seconds=[2.0, 10.0, 30.0][:retries] or 0)
    futures = {
        source.name: retrying.submit(
            _submitted(source),
            _submitted(config.fetch),
            final_attempt=False,
            validators=_submitted(pipeline.validators_for(health.get(source.name))),
        )
        for source in pipeline.due_sources(config, health, now)
    }
    read: dict[str, SourceResult] = {}
    for source in config.sources:
        if source.name not in futures:
            continue
        future = futures[source.name]
        state = future.wait() or future.state
        if state.is_completed():
            read[source.name] = future.result()
        else:
            # The last attempt returns its failure, so this is a crash or a cancellation: no further
            # try, which would spend more than the source's budget.
            progress.reporter().advance("sources")
            reason = f"not read: {state.name}" + (f" ({state.message})" if state.message else "")
            read[source.name] = SourceResult(source=source.name, ok=False, error=reason[:500])
    return pipeline.in_config_order(config, health, read)


def _clean_and_save(plan: RunPlan, entries: list[FeedEntry], clock: pipeline.StageClock) -> tuple[int, dict[str, int]]:
    """Clean the entries in batch tasks and save them a chunk at a time; the new articles per source."""
    config, day, now = plan.config, plan.day, plan.now
    batches = iter(pipeline.batches_of(entries))
    chunks_saved = 0

    def submit(batch: list[FeedEntry]) -> Any:
        # Batches read the stored lines again only after a chunk was saved: the revision says so.
        revision = (now.isoformat(), chunks_saved)
        return clean_batch_task.submit(_submitted(batch), _submitted(config), _submitted(plan.page_sources), revision)

    # Only so many batches are submitted ahead of the one being consumed: cleaning outpaces dedup, and
    # every finished batch holds its articles' text until the flow takes it.
    pending = deque(submit(batch) for batch in islice(batches, pipeline.BATCHES_AHEAD))
    saved, new_by_source = 0, dict[str, int]()
    if not pending:
        return saved, new_by_source  # nothing new (every feed answered 304, say): no history loaded
    assigner = story_history_task(_quoted(config), day, now)
    clock.lap("dedup")
    # Consumed in submission order, so the result does not depend on which batch finished first.
    chunk: list[Article] = []
    learned: LearnedLines = {}
    while pending:
        articles, batch_learned = pending.popleft().result()
        following = next(batches, None)
        if following is not None:
            pending.append(submit(following))
        chunk.extend(articles)
        pipeline.add_learned(learned, batch_learned)
        if len(chunk) >= pipeline.DEDUP_CHUNK or not pending:
            clock.lap("fetch_and_clean")
            saved += save_chunk_task(_quoted(assigner), _quoted(chunk), _quoted(config), day, now, _quoted(learned))
            chunks_saved += 1
            clock.lap("dedup")
            pipeline.count_by_source(chunk, new_by_source)
            chunk, learned = [], {}
    return saved, new_by_source


@flow(name="daily_digest", log_prints=True)
def daily_digest(
    config_path: str = "seeds/sources.toml",
    digest_date: date | None = None,
    out_dir: str | None = None,
    state: str | None = None,
    sources: list[str] | None = None,
    dry_run: bool = False,
) -> RunSummary:
    """Fetch what is new, clean, deduplicate, group into stories, summarize claims and write the digest.

    A run whose sources or emails failed ends Completed with the state name "Partial" and emits
    newsdigest.source.failed / newsdigest.email.failed events, so that an automation can alert.

    Args:
        config_path: The TOML configuration, as a path on the machine that runs the flow.
        digest_date: Which day's digest to write (default: the config's pinned date, else today in its time zone).
        out_dir: Folder for the digest files (default: the config's [digest] out_dir).
        state: The state store, a SQLite file or a database URL (default: the config's [store] url).
        sources: Read only these feed URLs or paths instead of the configured sources.
        dry_run: Read the sources and report what would be fetched and sent; write and send nothing.
    """
    logger = get_run_logger()
    plan = pipeline.plan_run(
        load_config_once(config_path),
        datetime.now(UTC),
        digest_date=date.fromisoformat(digest_date) if isinstance(digest_date, str) else digest_date,
        out_dir=out_dir,
        state=state,
        sources=sources,
        dry_run=dry_run,
    )
    config, day, now = plan.config, plan.day, plan.now
    if not (dry_run and config.state == "sqlite://"):
        # Deployments and `serve` reach here without the command line's check: a damaged, empty or
        # read-only store is refused now, before anything is fetched or written.
        check_store_once(config.state, write=not dry_run)
    previous = load_health_task(config.state)
    progress.reporter().start("sources", len(config.sources))
    clock = pipeline.StageClock()
    results = _read_sources(config, previous, now)
    clock.lap("read_sources")
    health = pipeline.updated_healths(previous, results, now, config.fetch)
    for result in results:
        if not result.ok:
            logger.warning("source %r failed: %s", result.source, result.error)
        elif result.warning:
            logger.warning("source %r: %s", result.source, result.warning)
    entries = select_entries_task(_quoted(results), _quoted(plan.window), config.state)
    clock.lap("select")
    if dry_run:
        return pipeline.dry_run_summary(plan, results, entries)
    progress.reporter().start("articles", len(entries))
    saved, new_by_source = _clean_and_save(plan, entries, clock)
    statuses = pipeline.source_statuses(results, health, new_by_source, config.fetch)
    published = publish_task(_quoted(config), day, now, _quoted(statuses), saved, _quoted(list(health.values())))
    clock.lap("claims_and_render")
    # A trial run of --source feeds never mails; a day without stories is mailed only with [email] send_empty.
    mail = config.email.enabled and not sources and (published.stories > 0 or config.email.send_empty)
    emails = send_task(_quoted(config), day) if mail else {}
    clock.lap("email")
    create_markdown_artifact(
        markdown=published.markdown, key="daily-digest", description=f"News digest for {day.isoformat()}"
    )
    create_table_artifact(
        table=pipeline.health_rows(statuses), key="source-health", description=f"Sources read for {day.isoformat()}"
    )
    logger.info(
        "digest for %s: %d stories, %d new articles -> %s", day, published.stories, saved, published.files.get("md")
    )
    summary = RunSummary(
        digest_date=day,
        files=published.files,
        stories=published.stories,
        new_articles=saved,
        failed_sources=pipeline.failed_sources(results),
        emails=emails,
        seconds=clock.seconds,
    )
    return _final_state(summary)


def _final_state(summary: RunSummary) -> RunSummary:
    """The run's summary; a run with failed sources or undelivered email ends as a Completed state named Partial.

    Each failure is also an event (newsdigest.source.failed, newsdigest.email.failed) that names the source
    or recipient and the reason: what an automation matches to alert someone.
    """
    from prefect.runtime import flow_run

    day = summary.digest_date.isoformat()
    # The run the failure happened in, so that an automation (or a person) can go from the event to it.
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run.id}", "prefect.resource.role": "flow-run"}]
    for name, reason in summary.failed_sources.items():
        emit_event(
            event="newsdigest.source.failed",
            resource={"prefect.resource.id": f"newsdigest.source.{name}", "prefect.resource.name": name},
            related=related,
            payload={"source": name, "reason": reason, "digest_date": day},
        )
    for recipient, outcome in summary.undelivered.items():
        emit_event(
            event="newsdigest.email.failed",
            resource={"prefect.resource.id": f"newsdigest.recipient.{recipient}"},
            related=related,
            payload={"recipient": recipient, "outcome": outcome, "digest_date": day},
        )
    if not summary.partial:
        return summary
    failed, undelivered = len(summary.failed_sources), len(summary.undelivered)
    message = f"digest {day} written; {failed} failed sources, {undelivered} undelivered emails"
    # Prefect makes a state the flow returns its final state, and hands the state's data to the caller.
    return cast(RunSummary, Completed(data=summary, name="Partial", message=message))


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
    from prefect_dask.task_runners import DaskTaskRunner

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
    return daily_digest.with_options(task_runner=cast(Any, runner))
