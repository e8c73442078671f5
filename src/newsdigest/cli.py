"""The command line: `newsdigest run`, `sources`, `serve`, `check-config`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime

from newsdigest import __version__
from newsdigest.config import DEFAULT_STATE_PATH, Config, load_config
from newsdigest.errors import NewsDigestError

DEFAULT_CONFIG = "seeds/sources.toml"

# Set before Prefect is imported: no telemetry calls from an offline machine, quieter start-up.
_PREFECT_DEFAULTS = {
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdigest", description="A self-hosted daily news digest.")
    parser.add_argument("--version", action="version", version=f"newsdigest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the daily digest flow once and write the digest files")
    run.add_argument("--config", default=DEFAULT_CONFIG, help=f"configuration file (default: {DEFAULT_CONFIG})")
    run.add_argument("--date", type=_iso_date, help="digest date YYYY-MM-DD (default: the config's, else today)")
    run.add_argument("--out", help="folder for the digest files (default: the config's, else ./digests)")
    run.add_argument(
        "--state",
        help=f"state store: a SQLite file or a database URL (default: the config's, else {DEFAULT_STATE_PATH})",
    )

    run.add_argument(
        "--source",
        action="append",
        dest="sources",
        metavar="URL",
        help="read this feed URL or path instead of the configured sources (repeatable)",
    )

    health = commands.add_parser("sources", help="show each source's health: last status, failures, next check")
    health.add_argument("--config", default=DEFAULT_CONFIG, help=f"configuration file (default: {DEFAULT_CONFIG})")
    health.add_argument("--state", help="state store (default: the config's)")

    serve = commands.add_parser("serve", help="serve the daily schedule from this process (needs a Prefect server)")
    serve.add_argument("--config", default=DEFAULT_CONFIG, help=f"configuration file (default: {DEFAULT_CONFIG})")
    serve.add_argument("--cron", default="0 6 * * *", help="cron expression (default: 0 6 * * *, 06:00 daily)")
    serve.add_argument("--timezone", default=None, help="time zone of the cron (default: the config's)")

    check = commands.add_parser("check-config", help="load and validate a configuration file, then exit")
    check.add_argument("--config", default=DEFAULT_CONFIG)
    return parser


def sources_report(config: Config) -> str:
    """A table of the configured sources with what the store knows of each."""
    from newsdigest.health import is_failing
    from newsdigest.store import Store

    store = Store.open(config.state)
    try:
        known = store.source_health()
    finally:
        store.close()

    def stamp(value: datetime | None) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"

    rows = [("source", "status", "last success", "failures", "next check", "last error")]
    for source in config.sources:
        health = known.get(source.name)
        if health is None:
            rows.append((source.name, "never run", "-", "0", "now", ""))
            continue
        status = "FAILING" if is_failing(health, config.fetch) else health.last_status
        rows.append(
            (
                source.name,
                status,
                stamp(health.last_success),
                str(health.consecutive_failures),
                stamp(health.next_check) if health.next_check else "now",
                (health.last_error or "")[:80],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ).rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsdigest` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            config = load_config(args.config)
            print(f"{args.config}: ok, {len(config.sources)} sources")
            return 0
        # Validate before Prefect starts: a typo is reported in a second, not after a server boots.
        config = load_config(args.config)
        if args.command == "sources":
            print(sources_report(config.with_overrides(state=args.state)))
            return 0
        _prefect_environment()
        if args.command == "run":
            from flows.daily_digest import daily_digest

            summary = daily_digest(
                config_path=args.config,
                digest_date=args.date,
                out_dir=args.out,
                state=args.state,
                sources=args.sources,
            )
            # The temporary server logs its shutdown at exit; keep the digest's path the last line printed.
            logging.getLogger("prefect").setLevel(logging.WARNING)
            for name, reason in summary.failed_sources.items():
                print(f"failed source {name}: {reason}", file=sys.stderr)
            print(
                f"{summary.stories} stories, {summary.new_articles} new articles, "
                f"{len(summary.failed_sources)} failed sources",
                file=sys.stderr,
            )
            print(summary.files["md"])
            return 0
        if args.command == "serve":
            from prefect.schedules import Cron

            from flows.daily_digest import daily_digest

            daily_digest.serve(
                name="daily-serve",
                schedule=Cron(args.cron, timezone=args.timezone or config.digest.timezone),
                parameters={"config_path": args.config},
            )
            return 0
    except NewsDigestError as exc:
        print(f"newsdigest: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
