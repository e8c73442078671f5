"""`newsdigest sources list`: each configured source with what the store knows of its health."""

from __future__ import annotations

from datetime import UTC, datetime

from newsdigest.config.records import Config
from newsdigest.sources.health import is_failing
from newsdigest.store import Store


def sources_table(config: Config) -> str:
    """A table of the configured sources with what the store knows of each."""
    with Store.open(config.state) as store:
        known = store.source_health()

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
