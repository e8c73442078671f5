"""The command line: `newsdigest run`, `send`, `sources`, `serve`, `check-config`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from newsdigest import __version__
from newsdigest.config.load import load_config_once
from newsdigest.config.locate import ENV_VARIABLE, SEEDS_CONFIG, locate_config, user_config_path, write_starter
from newsdigest.config.records import DEFAULT_STATE_PATH, Config
from newsdigest.delivery.files import write_atomic
from newsdigest.digest.formats import OPEN_FORMATS
from newsdigest.errors import ConfigError, NewsDigestError, StoreError

if TYPE_CHECKING:
    from newsdigest.pipeline import RunSummary

DEFAULT_CONFIG = SEEDS_CONFIG

# Set before Prefect is imported: no telemetry calls from an offline machine, quieter start-up.
_PREFECT_DEFAULTS = {
    "DO_NOT_TRACK": "1",  # what Prefect's telemetry notice and calls honour; a user's own setting wins
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def _prefect_environment() -> None:
    for key, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


CONFIG_HELP = (
    "configuration file (default: $NEWSDIGEST_CONFIG, else your user config, else the bundled "
    f"{DEFAULT_CONFIG}); accepted before or after the command"
)
VERBOSE_HELP = "show the traceback of an error, not just its line"

EXIT_CODES = """\
exit codes:
  0    done: the digest was written and every source was read (other commands: success)
  1    a fault of newsdigest itself (--verbose shows the traceback); `send`: some delivery not done;
       `open`: no such digest; `sources add`: already configured
  2    nothing written: a configuration, store or run error, or a wrong command line
  3    the digest was written, but some sources (or emails) failed
  130  stopped by Ctrl-C (SIGINT); 143 by SIGTERM"""

EXAMPLES = """\
examples:
  newsdigest init                                   write a starter config to your user config folder
  newsdigest run                                    today's digest from your config
  newsdigest run --source https://example.org/feed.xml --dry-run
                                                    try one feed: show what would be read; no mail
  newsdigest sources import-opml subs.opml --config my.toml
  newsdigest config check --config my.toml
  newsdigest open"""


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose help page keeps the layout of its examples."""
    return commands.add_parser(
        name, help=text, description=text, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def build_parser() -> argparse.ArgumentParser:
    """The `newsdigest` argument parser: every command, its options, examples and exit codes."""
    parser = argparse.ArgumentParser(
        prog="newsdigest",
        description="A self-hosted daily news digest.",
        epilog=f"{EXAMPLES}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newsdigest {__version__}")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    parser.add_argument("--config", default=None, metavar="FILE", help=CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = _command(
        commands,
        "init",
        "write a commented starter configuration",
        "examples:\n  newsdigest init\n  newsdigest init my.toml\n\nexit codes:\n  0  written\n"
        "  2  the file exists (use --force) or cannot be written",
    )
    init.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="where to write it (default: --config if given, else your user config file)",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")

    run = _command(
        commands,
        "run",
        "run the daily digest flow once and write the digest files",
        "examples:\n  newsdigest run\n  newsdigest run --date 2025-04-16 --out digests\n"
        "  newsdigest run --source https://example.org/feed.xml   (try one feed; never mails)\n"
        f"\n{EXIT_CODES}",
    )
    run.add_argument("--date", type=_iso_date, help="digest date YYYY-MM-DD (default: the config's, else today)")
    run.add_argument("--out", help="folder for the digest files (default: the config's, else ./digests)")
    run.add_argument(
        "--state",
        help=f"state store: a SQLite file or a database URL (default: the config's, else {DEFAULT_STATE_PATH})",
    )
    run.add_argument("--quiet", "-q", action="store_true", help="print only the digest's path (and errors)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="read the sources and show what would be fetched and sent; write nothing, mail nothing",
    )
    run.add_argument(
        "--source",
        action="append",
        dest="sources",
        metavar="URL",
        help="read this feed URL or path instead of the configured sources (repeatable); such a run never mails",
    )

    send = _command(
        commands,
        "send",
        "mail a rendered digest to the configured recipients, or finish doing so",
        "examples:\n  newsdigest send --date 2025-04-16\n  newsdigest send --retry-failed\n\n"
        "exit codes:\n  0  every recipient has the digest\n  1  some delivery is not done\n"
        "  2  a configuration or store error",
    )
    send.add_argument("--date", type=_iso_date, help="digest date YYYY-MM-DD (default: the config's, else today)")
    send.add_argument("--out", help="folder of the digest files (default: the config's, else ./digests)")
    send.add_argument("--state", help="state store (default: the config's)")
    send.add_argument(
        "--retry-failed",
        action="store_true",
        help="send again to recipients whose server refused the digest (a refusal since fixed); an unconfirmed "
        "delivery is not resent",
    )
    send.add_argument(
        "--resend-unconfirmed",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="send again to this recipient whose delivery is unconfirmed, once you checked it did not arrive "
        "(repeatable)",
    )

    sources = _command(
        commands,
        "sources",
        "list, add or remove sources; import or export OPML",
        "examples:\n  newsdigest sources list\n  newsdigest sources add https://example.org/ --category world\n"
        "  newsdigest sources import-opml subs.opml --config my.toml\n\n"
        "exit codes:\n  0  done\n  1  `add`: the feed is already configured\n  2  a configuration or fetch error",
    )
    sources.add_argument("--state", help="state store (default: the config's)")
    actions = sources.add_subparsers(dest="sources_command", metavar="ACTION")
    _command(actions, "list", "each source with its last status, failures and next check (the default)")
    add = _command(actions, "add", "add a feed, or the feed a web page advertises")
    add.add_argument("url", help="a feed URL, or a site's page that links to its feed")
    add.add_argument("--name", help="the source's name (default: the feed's title)")
    add.add_argument("--category", help="a category, for sections and OPML folders")
    remove = _command(actions, "remove", "remove a source by name or URL")
    remove.add_argument("source", help="the source's name or URL")
    importer = _command(actions, "import-opml", "add every feed of an OPML file (what feed readers export)")
    importer.add_argument("file", type=Path, metavar="FILE", help="the OPML file to read")
    exporter = _command(actions, "export-opml", "write the sources as an OPML file")
    exporter.add_argument("file", type=Path, metavar="FILE", help="the OPML file to write (replaced if it exists)")
    for action in actions.choices.values():
        # --state after the action works too; SUPPRESS keeps it from undoing one given before it.
        action.add_argument("--state", default=argparse.SUPPRESS, help="state store (default: the config's)")

    config_group = _command(commands, "config", "configuration commands")
    config_actions = config_group.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    _add_config_check(config_actions, "check")

    serve = _command(
        commands,
        "serve",
        "serve the daily schedule from this process (needs a Prefect server)",
        'examples:\n  newsdigest serve --cron "0 6 * * *" --timezone Europe/Berlin',
    )
    serve.add_argument("--cron", default=None, help="cron expression (default: the config's [digest] cron, 0 6 * * *)")
    serve.add_argument("--timezone", default=None, help="time zone of the cron (default: the config's)")

    _add_config_check(commands, "check-config")  # the older spelling of `config check`, kept for scripts

    show = _command(
        commands,
        "open",
        "open a written digest in the browser (html) or the pager (md, txt)",
        "examples:\n  newsdigest open\n  newsdigest open 2025-04-16 --format md\n\n"
        "exit codes:\n  0  shown\n  1  no such digest",
    )
    show.add_argument("date", nargs="?", type=_iso_date, help="digest date YYYY-MM-DD (default: the newest)")
    show.add_argument("--out", help="folder of the digest files (default: the config's, else ./digests)")
    show.add_argument("--format", choices=OPEN_FORMATS, default="html", help="which file (default: html)")
    for command in (*commands.choices.values(), *config_actions.choices.values(), *actions.choices.values()):
        # Global options after the command work too; SUPPRESS keeps them from undoing one given before it.
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        command.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE", help=CONFIG_HELP)
    return parser


_parser = build_parser  # the earlier name


def _add_config_check(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    """Register the configuration check as `name`: `config check` and `check-config` are one command."""
    check = _command(
        commands,
        name,
        "load and validate the configuration, report every problem, then exit",
        "examples:\n  newsdigest config check --config my.toml\n\n"
        "exit codes:\n  0  valid\n  2  a problem (each printed with its line)",
    )
    check.set_defaults(check_config=True)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and the noun, singular for one: "1 source", "2 sources", "0 sources"."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def init_command(args: argparse.Namespace) -> int:
    """`newsdigest init [PATH]`: write the starter configuration and say how to use it."""
    target = Path(args.path or args.config or user_config_path()).expanduser()
    write_starter(target, force=args.force)
    print(f"wrote {target}")
    option = ""
    if target.resolve() == user_config_path().resolve():
        print("every command reads it from now on (unless --config or NEWSDIGEST_CONFIG says otherwise)")
    else:
        option = f" --config {target}"
        print(f"use it with --config {target}, or export {ENV_VARIABLE}={target}")
    print(f"next: add your feeds (newsdigest sources add URL{option}), then: newsdigest run{option}")
    return 0


def check_config_command(config: Config, args: argparse.Namespace) -> int:
    """`newsdigest config check` (or `check-config`): the configuration loaded, so it is valid; say so."""
    print(f"{args.config}: ok, {plural(len(config.sources), 'source')}")
    return 0


def send_command(config: Config, args: argparse.Namespace) -> int:
    """`newsdigest send`: 0 when every recipient has the digest, 1 when some delivery is not done."""
    from newsdigest.delivery.outbox import retry_failed, send_digest, unconfirmed_failures
    from newsdigest.sources.window import resolve_digest_date

    config = config.with_overrides(out_dir=Path(args.out) if args.out else None, state=args.state)
    day = (
        date.fromisoformat(args.date)
        if args.date
        else resolve_digest_date(config.digest.date, config.digest.timezone, datetime.now(UTC))
    )
    if config.email.credentials_block:
        _prefect_environment()  # the block is read from the Prefect API
    if args.retry_failed or args.resend_unconfirmed:
        retry_failed(config, day, unconfirmed=args.resend_unconfirmed)
    report = send_digest(config, day)
    for line in report.lines():
        print(line)
    if args.retry_failed:
        for recipient in unconfirmed_failures(config, day):
            print(
                f"{recipient}: not resent, the first copy may have arrived; if it did not, "
                f"newsdigest send --config {args.config} --date {day.isoformat()} --resend-unconfirmed {recipient}",
                file=sys.stderr,
            )
    return 0 if report.complete else 1


def open_command(args: argparse.Namespace) -> int:
    """`newsdigest open`: the browser for html, $PAGER (else just the path) for md and txt; 1 when absent."""
    from newsdigest.delivery.viewer import show_digest
    from newsdigest.digest.archive import find_digest

    out_dir = Path(args.out) if args.out else load_config_once(args.config).digest.out_dir
    day = date.fromisoformat(args.date) if args.date else None
    path = find_digest(out_dir, day, args.format)
    if path is None:
        which = f" for {day.isoformat()}" if day else ""
        print(f"newsdigest: no {args.format} digest{which} in {out_dir}", file=sys.stderr)
        return 1
    path = path.resolve()
    shown = show_digest(path, args.format)
    if shown.problem:
        print(f"newsdigest: {shown.problem}", file=sys.stderr)
    if shown.print_path:
        print(path)
    return 0


def sources_command(config: Config, args: argparse.Namespace) -> int:
    """`newsdigest sources [list|add|remove|import-opml|export-opml]`."""
    from newsdigest.sources.fetch import Fetcher, origin_of
    from newsdigest.sources.manage import NewSource, add_sources, discover_feed, read_opml, remove_source, write_opml
    from newsdigest.sources.report import sources_table
    from newsdigest.store import state_for_dry_run

    action = args.sources_command or "list"
    path = Path(args.config)
    if action == "list":
        # Reading must not create the store: a state file not made yet reads as an empty one.
        state = state_for_dry_run(args.state or config.state)
        print(sources_table(config.with_overrides(state=state)))
    elif action == "add":
        # The page the user named is trusted; the feed it advertises on the same host is too.
        # Trust (for a private address) is the named page's origin: scheme, host and port, as for sources.
        own_origin = frozenset(origin for origin in (origin_of(args.url),) if origin)
        with Fetcher(config.fetch, trusted_hosts=own_origin) as fetcher:
            feed_url, title = discover_feed(args.url, fetcher)
        added = add_sources(path, [NewSource(name=args.name or title, url=feed_url, category=args.category)])
        if not added:
            print(f"already configured: {feed_url}")
            return 1
        print(f"added {added[0].name!r}: {feed_url}")
    elif action == "remove":
        print(f"removed {remove_source(path, args.source)!r}")
    elif action == "import-opml":
        try:
            found = read_opml(args.file.read_bytes())
        except OSError as exc:
            raise ConfigError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        added = add_sources(path, found)
        known = len(found) - len(added)
        already = f" ({known} {'was' if known == 1 else 'were'} already configured)" if known else ""
        print(f"{len(added)} of {plural(len(found), 'feed')} added{already}")
    elif action == "export-opml":
        write_atomic(args.file, write_opml(config.sources, config.digest.title))
        feeds = sum(1 for s in config.sources if s.kind.value == "feed")
        print(f"{plural(feeds, 'feed')} written to {args.file}")
    return 0


# Exit codes of `newsdigest run`, for schedulers and scripts.
EXIT_WRITTEN = 0  # the digest was written and every source was read
EXIT_UNEXPECTED = 1  # a fault of newsdigest itself: the line says what; --verbose shows the traceback
EXIT_NOT_WRITTEN = 2  # nothing was written: a configuration, store or run error
EXIT_WRITTEN_WITH_FAILURES = 3  # the digest was written, but some sources (or emails) failed
EXIT_INTERRUPTED = 128  # plus the signal's number: 130 after Ctrl-C (SIGINT), 143 after SIGTERM
# Seconds from a stop signal to the exit, however busy the run's threads are; stopping the server adds at most 2.
STOP_WITHIN = 6.0


class _Stop:
    """What a run does on SIGTERM or Ctrl-C: interrupt the flow, stop the temporary server, exit within seconds.

    Linux hands a process's signal to any of its threads, and Python runs handlers only in the main
    thread, which may sit in a lock wait that only a signal sent to it ends. So the handler's wake-up
    byte is read by a thread of ours, which says so, passes the signal on to the main thread and keeps
    the deadline. The handler itself only raises: it may interrupt the main thread while that holds
    a lock (threading's own, when a task starts a thread), so it takes none and starts nothing.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._raised = False

    def handler(self, signum: int, _frame: object) -> None:
        """The signal handler, in the main thread: interrupt the flow once."""
        if self.signum is None:
            self.signum = signum
        if not self._raised:
            self._raised = True
            raise KeyboardInterrupt  # Prefect marks the flow run crashed and unwinds the flow

    def watch(self, wakeups: int) -> None:
        """Wait for the first signal's wake-up byte; wake the main thread once, then keep the deadline."""
        stops = {int(signal.SIGTERM), int(signal.SIGINT)}
        signum = 0
        while signum not in stops:  # any signal with a Python handler writes its byte here; only these stop
            chunk = os.read(wakeups, 1)
            if not chunk:
                return  # the run ended without a signal
            signum = chunk[0]
        if self.signum is None:
            self.signum = signum
        os.write(2, f"newsdigest: {signal.Signals(signum).name} received, stopping\n".encode())
        main = threading.main_thread().ident
        if not self._raised and main is not None:
            signal.pthread_kill(main, signum)
        # Threads blocked in a slow read (or the store's busy wait) would hold the exit up: after the
        # deadline the process goes whatever they are doing. Committed transactions and files written
        # atomically are kept; an uncommitted transaction is rolled back by the database.
        time.sleep(STOP_WITHIN)
        self.exit()

    def exit(self) -> None:
        """Stop what this run started and leave with 128 + the signal's number."""
        stop_temporary_server()
        # os._exit: an orderly exit would join worker threads that may wait minutes on a socket. Nothing
        # is flushed: a stream's lock may be held by the thread the signal interrupted.
        os._exit(EXIT_INTERRUPTED + (self.signum or int(signal.SIGINT)))


def stop_temporary_server() -> None:
    """Stop the Prefect server this process started for the run, and the local worker processes, if any."""
    import multiprocessing

    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is not None:
        for server in list(server_module.SubprocessASGIServer._instances.values()):
            process = server.server_process
            if process is not None and process.poll() is None:
                process.terminate()  # uvicorn finishes in well under a second; kill if it does not
                try:
                    process.wait(timeout=2)
                except Exception:  # noqa: BLE001 - TimeoutExpired, or already reaped: kill and move on
                    process.kill()
            server.server_process = None
            server.running = False
    for child in multiprocessing.active_children():  # a local Dask cluster's worker processes
        child.terminate()


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """SIGTERM and SIGINT end the run within STOP_WITHIN seconds; a signal ignored when we started stays ignored."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals are the main thread's: a caller running the command in a thread keeps them
        return
    previous: dict[int, object] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue  # started under nohup, or in the background of a shell: not ours to change
        previous[signum] = current
        signal.signal(signum, stop.handler)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # set_wakeup_fd wants it so: a handler never blocks
    earlier_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watcher = threading.Thread(target=stop.watch, args=(read_end,), name="newsdigest-signals", daemon=True)
    watcher.start()
    try:
        yield stop
    finally:
        if stop.signum is not None:
            stop.exit()  # a signal that came as the flow returned still ends the run as a stop
        signal.set_wakeup_fd(earlier_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        os.close(write_end)  # the watcher reads the end of the pipe and returns
        watcher.join(timeout=5)
        os.close(read_end)


class _NoTracebacks(logging.Filter):
    """Log records keep their message but lose the traceback: a failed run says why in one line per record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the record's exception details (the message already names the exception)."""
        if record.exc_info and record.exc_info[1] is not None:
            exc, message = record.exc_info[1], record.getMessage()
            reason = " ".join(str(exc).split())[:300]
            if reason not in message:  # Prefect's own messages mostly name the exception already
                record.msg, record.args = f"{message} [{type(exc).__name__}: {reason}]", None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


_QUIET = _NoTracebacks()
_QUIET_LOGGERS = ("prefect", "prefect.flow_runs", "prefect.task_runs", "")


@contextmanager
def _tracebacks_hidden(hidden: bool) -> Iterator[None]:
    """Keep tracebacks out of Prefect's console output while the run lasts (--verbose keeps them)."""
    handlers = {h for name in _QUIET_LOGGERS for h in logging.getLogger(name).handlers} if hidden else set()
    for handler in handlers:
        handler.addFilter(_QUIET)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(_QUIET)  # a caller in the same process (a test) gets its handlers back as they were


def state_origin(config: Config, args: argparse.Namespace) -> str:
    """Where the state setting came from, for an error message: the option, the key and its line, or the default."""
    if getattr(args, "state", None):
        return "--state"
    if config.path is not None:
        from newsdigest.config.lines import key_lines

        try:
            line = key_lines(config.path.read_text(encoding="utf-8")).get(("store", "url"))
        except (OSError, UnicodeDecodeError):
            line = None
        if line is not None:
            return f"[store] url, {config.path.name} line {line}"
    return f"the default, {DEFAULT_STATE_PATH}"


def check_run_store(config: Config, args: argparse.Namespace) -> None:
    """The store the run will use, opened, checked and (unless a dry run) written, before Prefect starts."""
    from newsdigest.store import check_store

    state = args.state if args.state else config.state
    if args.dry_run and "://" not in state and not Path(state).expanduser().exists():
        return  # a first dry run reads an empty stand-in and creates nothing
    try:
        check_store(state, write=not args.dry_run)
    except StoreError as exc:
        raise StoreError(f"{exc} (set by {state_origin(config, args)})") from exc


def run_command(config: Config, args: argparse.Namespace) -> int:
    """`newsdigest run`: the flow once, with progress where someone watches and an exit code that tells."""
    check_run_store(config, args)
    if args.quiet:
        os.environ["PREFECT_LOGGING_LEVEL"] = "ERROR"
    with _stop_on_signals() as stop:
        try:
            return _run_flow(config, args)
        except BaseException:
            # KeyboardInterrupt from our handler, or Prefect's TerminationSignal (the flow engine has a
            # SIGTERM handler of its own while the flow runs): either way the run stops here.
            if stop.signum is not None:
                stop.exit()
            raise


def earlier_run(config: Config, args: argparse.Namespace) -> str | None:
    """When this date's digest was last written, as HH:MM in the config's time zone (None: not yet, or a dry run)."""
    from zoneinfo import ZoneInfo

    from newsdigest.sources.window import resolve_digest_date
    from newsdigest.store import Store, state_for_dry_run

    state = args.state or config.state
    if args.dry_run or state_for_dry_run(state) != state:
        return None  # a store not made yet has no earlier run, and reading it must not create it
    zone = ZoneInfo(config.digest.timezone)
    day = (
        date.fromisoformat(args.date)
        if args.date
        else resolve_digest_date(config.digest.date, zone.key, datetime.now(UTC))
    )
    with Store.open(state) as store:
        when = store.last_digest_time(day + timedelta(days=1))
        same_day = store.previous_digest_date(day + timedelta(days=1)) == day
    return when.astimezone(zone).strftime("%H:%M") if when and same_day else None


def _run_flow(config: Config, args: argparse.Namespace) -> int:
    from newsdigest import progress
    from newsdigest.flow import flow_for

    earlier = earlier_run(config, args)

    run_flow = flow_for(config)  # the flow reads the same parsed file again by its path: no second parse
    previous = progress.install(progress.for_terminal(sys.stderr, args.quiet))
    # After the import: Prefect sets its logging up when it is imported.
    bars = progress.reporter()
    # Prefect's console handler (on the root logger) prints above our bars instead of through them.
    above = bars.logs_above(logging.getLogger("").handlers) if isinstance(bars, progress.BarReporter) else nullcontext()
    with _tracebacks_hidden(not args.verbose), above:
        try:
            summary = run_flow(
                config_path=args.config,
                digest_date=args.date,
                out_dir=args.out,
                state=args.state,
                sources=args.sources,
                dry_run=args.dry_run,
            )
        finally:
            progress.install(previous).close()
    # The temporary server logs its shutdown at exit; keep the digest's path the last line printed.
    logging.getLogger("prefect").setLevel(logging.ERROR if args.quiet else logging.WARNING)
    if args.dry_run:
        print("\n".join(summary.planned))
        return EXIT_WRITTEN
    if not args.quiet:
        for name, reason in summary.failed_sources.items():
            print(f"failed source {name}: {reason}", file=sys.stderr)
        print(summary_line(summary, earlier), file=sys.stderr)
        for recipient, outcome in summary.emails.items():
            print(f"email to {recipient}: {outcome}", file=sys.stderr)
        if config.email.enabled and not summary.emails:
            why = "--source runs never mail" if args.sources else "no stories, and [email] send_empty is off"
            print(f"no email: {why}", file=sys.stderr)
    print(summary.files["md"])
    email_failed = any(outcome != "sent" and "already" not in outcome for outcome in summary.emails.values())
    return EXIT_WRITTEN_WITH_FAILURES if summary.failed_sources or email_failed else EXIT_WRITTEN


def summary_line(summary: RunSummary, earlier: str | None = None) -> str:
    """The run's one-line account of what changed: stories, new articles, failed sources.

    `earlier` is when this date's digest was last written (HH:MM), if it was.
    """
    failed = len(summary.failed_sources)
    failures = f", {plural(failed, 'failed source')}" if failed else ""
    if summary.new_articles == 0 and earlier:
        return f"nothing new since {earlier}; {plural(summary.stories, 'story', 'stories')} in the digest{failures}"
    return (
        f"{plural(summary.stories, 'story', 'stories')}, {plural(summary.new_articles, 'new article')}"
        f"{failures or ', no failed sources'}"
    )


EDITS = ("add", "remove", "import-opml")  # the `sources` actions that rewrite the configuration file


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsdigest` command."""
    args = build_parser().parse_args(argv)
    _prefect_environment()  # before anything imports Prefect: its telemetry notice shows on import
    config: Config | None = None
    try:
        if args.command == "init":
            return init_command(args)
        located = locate_config(args.config)
        args.config = located.path
        reads_config = not (args.command == "open" and args.out)  # `open --out DIR` needs no configuration
        if located.notice and reads_config and not getattr(args, "quiet", False):
            print(located.notice, file=sys.stderr)
        if located.origin == "seeds" and getattr(args, "sources_command", None) in EDITS:
            # Following an example without --config would otherwise change the bundled corpus's file.
            raise ConfigError(
                f"not editing the bundled {DEFAULT_CONFIG}: write your own with `newsdigest init` first, "
                "or name a file with --config"
            )
        if args.command == "open":
            return open_command(args)  # reads the configuration only when --out does not name the folder
        # Loaded once here and passed down; before Prefect starts, so a typo is reported in a second.
        config = load_config_once(args.config)
        if getattr(args, "check_config", False):
            return check_config_command(config, args)
        if args.command == "sources":
            return sources_command(config, args)
        if args.command == "send":
            return send_command(config, args)
        _prefect_environment()
        if args.command == "run":
            return run_command(config, args)
        if args.command == "serve":
            from prefect.schedules import Cron

            from newsdigest.flow import daily_digest

            daily_digest.serve(
                name="daily-serve",
                schedule=Cron(args.cron or config.digest.cron, timezone=args.timezone or config.digest.timezone),
                parameters={"config_path": args.config},
            )
            return 0
    except NewsDigestError as exc:
        message = str(exc)
        if isinstance(exc, StoreError) and config is not None and "(set by " not in message:
            message += f" (set by {state_origin(config, args)})"
        print(f"newsdigest: {message}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        logging.getLogger("prefect").setLevel(logging.WARNING)  # the server's shutdown line would come after
        return EXIT_NOT_WRITTEN
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen fault: one line unless --verbose
        if args.verbose:
            traceback.print_exc()
        reason = " ".join(str(exc).split())[:500]
        print(f"newsdigest: unexpected {type(exc).__name__}: {reason} (--verbose shows the traceback)", file=sys.stderr)
        return EXIT_UNEXPECTED
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
