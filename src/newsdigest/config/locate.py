"""Which configuration a command reads, and the starter file `newsdigest init` writes.

The order: the --config option, then the NEWSDIGEST_CONFIG variable, then the user's own config file
(the platform's usual folder), then the bundled seeds with a one-line notice. Nothing here writes a file
except `write_starter`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsdigest.errors import ConfigError

SEEDS_CONFIG = "seeds/sources.toml"
ENV_VARIABLE = "NEWSDIGEST_CONFIG"
APP_FOLDER = "newsdigest"
FILE_NAME = "config.toml"


@dataclass(frozen=True)
class Located:
    """The configuration file a command uses and where that choice came from."""

    path: str
    origin: str  # "--config", "NEWSDIGEST_CONFIG", "user" or "seeds"

    @property
    def notice(self) -> str | None:
        """A one-line notice when the bundled seeds stand in for a configuration of the user's."""
        if self.origin != "seeds":
            return None
        return (
            f"newsdigest: using the bundled {SEEDS_CONFIG} (no --config, no {ENV_VARIABLE}, "
            "no user config); `newsdigest init` writes one of your own"
        )


def user_config_dir(
    environ: Mapping[str, str] | None = None, platform: str | None = None, home: Path | None = None
) -> Path:
    """The platform's folder for this user's newsdigest configuration (XDG on Linux, as platformdirs has it)."""
    env = os.environ if environ is None else environ
    system = sys.platform if platform is None else platform
    base_home = Path.home() if home is None else home
    if system.startswith("win"):
        appdata = env.get("APPDATA", "").strip()
        return (Path(appdata) if appdata else base_home / "AppData" / "Roaming") / APP_FOLDER
    if system == "darwin":
        return base_home / "Library" / "Application Support" / APP_FOLDER
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    # The XDG specification ignores a relative XDG_CONFIG_HOME: it would depend on the working folder.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else base_home / ".config"
    return base / APP_FOLDER


def user_config_path(
    environ: Mapping[str, str] | None = None, platform: str | None = None, home: Path | None = None
) -> Path:
    """The user's configuration file: `config.toml` in `user_config_dir`."""
    return user_config_dir(environ, platform, home) / FILE_NAME


def locate_config(
    option: str | None,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    home: Path | None = None,
) -> Located:
    """The configuration to read: --config, else NEWSDIGEST_CONFIG, else the user's file if it exists, else seeds."""
    env = os.environ if environ is None else environ
    if option:
        return Located(option, "--config")
    named = env.get(ENV_VARIABLE, "").strip()
    if named:
        return Located(named, ENV_VARIABLE)
    own = user_config_path(env, platform, home)
    if own.is_file():
        return Located(str(own), "user")
    return Located(SEEDS_CONFIG, "seeds")


STARTER_CONFIG = """\
# newsdigest configuration, written by `newsdigest init`.
# Every key is optional except the sources; `newsdigest config check --config THIS_FILE` reports
# any mistake with its line. Relative paths are relative to this file's folder.

[digest]
title = "My news digest"
timezone = "UTC"           # the digest's day starts and ends in this time zone, e.g. "Europe/Berlin"
window_hours = 24          # entries published in the day before the end of the digest date
max_stories = 30
out_dir = "digests"        # where the Markdown, HTML, text and JSON files go
# cron = "0 6 * * *"       # when `newsdigest serve` runs it

[store]
url = "state.sqlite"       # what was read and sent; a SQLite file or a database URL

# [email]                  # uncomment to mail the digest
# to = ["you@example.org"]
# from = "digest@example.org"
# smtp_host = "smtp.example.org"
# smtp_user = "digest@example.org"
# password_env = "DIGEST_SMTP_PASSWORD"   # the variable that holds the password, never the password
# send_empty = false       # a day with no stories is not mailed

# One [[sources]] table per feed; `newsdigest sources add URL` and `sources import-opml FILE` add them.
[[sources]]
name = "Example feed"
url = "https://example.org/feed.xml"
"""


def write_starter(path: Path, *, force: bool = False) -> Path:
    """Write the starter configuration to `path` (its folder created); refuse to replace a file unless forced."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; edit it, or pass --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STARTER_CONFIG, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
