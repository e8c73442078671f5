"""A written digest shown on this machine: the browser for a web page, $PAGER for text (`newsdigest open`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from newsdigest.digest.formats import output_format


@dataclass(frozen=True)
class Shown:
    """What showing a file did: whether its path should still be printed, and what went wrong if anything."""

    print_path: bool
    problem: str | None = None


def show_digest(path: Path, fmt: str) -> Shown:
    """Show a digest file as its format says; the caller prints the path when nothing else showed it."""
    viewer = output_format(fmt).viewer
    if viewer == "browser":
        if not webbrowser.open(path.as_uri()):
            return Shown(print_path=True, problem="no browser could be started; open the file yourself:")
        return Shown(print_path=True)  # the path too: a script or a remote shell can use it
    if viewer == "pager":
        pager = os.environ.get("PAGER", "").strip()
        # Only where someone reads the terminal: piped output gets the path, which a script can use.
        if pager and sys.stdout.isatty():
            try:
                subprocess.run(shlex.split(pager), input=path.read_bytes(), check=False)
            except OSError as exc:
                return Shown(print_path=True, problem=f"cannot start the pager {pager!r}: {exc}")
            return Shown(print_path=False)
    return Shown(print_path=True)
