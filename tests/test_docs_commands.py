"""Every command the README and docs/benchmarks.md show still parses, so the documentation cannot drift.

A command is found in a fenced code block, or in an inline code span of the prose, when its first word is
`newsdigest` (bare, or in a `bin/` folder such as `.venv/bin/newsdigest`, also after systemd's `ExecStart=`), a
`python -m benchmarks.NAME` (the same way), or `make`. Leading `VAR=value` words, `(`, `)`,
`&&` and `;` are shell around the command and are skipped; a line ending in a backslash, and a line that starts
with `[` right after a command (a wrapped usage synopsis), continue the command before them.

Usage synopses are checked, not skipped: their brackets are dropped, `...` is dropped, and an all-capitals
placeholder gets a sample value (YYYY-MM-DD a date, N a number, any other one a word), so
`newsdigest run [--date YYYY-MM-DD] [--source URL ...]` is parsed as `newsdigest run --date 2025-04-16
--source placeholder`: every option a synopsis names must exist and take the value it shows.

`newsdigest` lines are parsed by the command's own argparse parser, `python -m benchmarks.NAME` lines by the
`build_parser()` of that module, and `make TARGET` must name a target of the Makefile. An argument that is a
path in one of the repository's folders (src/, seeds/, tests/...) must exist, or at least its folder must (an
output file). Nothing is run. The
documentation lists no `--json` keys of the benchmarks, so there are none to check here.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shlex
from dataclasses import dataclass, field

import pytest

from tests.conftest import ROOT

DOCUMENTS = ("README.md", "docs/benchmarks.md")
SHELL_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")"}
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_-]*")
SAMPLES = {"YYYY-MM-DD": "2025-04-16", "N": "1"}
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
NEWSDIGEST = re.compile(r"(\S*/bin/)?newsdigest")
REPO_FOLDERS = ("src", "seeds", "tests", "benchmarks", "flows", "digest_templates", "docs")  # their paths must exist
PYTHON = re.compile(r"(\S*/bin/)?python(3(\.\d+)?)?")


@dataclass
class Command:
    """One documented command line: where it is, what it says, and the words the check gives its parser."""

    where: str
    text: str
    kind: str = ""  # "newsdigest", "benchmarks.NAME" or "make"
    args: list[str] = field(default_factory=list)
    error: str = ""  # why the line could not be read as a command at all


def _words(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _segments(words: list[str]) -> list[list[str]]:
    """The simple commands of a shell line (split at `&&`, `;`, `|` and parentheses)."""
    segments: list[list[str]] = [[]]
    for word in words:
        if word in SHELL_SEPARATORS:
            segments.append([])
        else:
            segments[-1].append(word)
    return [segment for segment in segments if segment]


def _fill_synopsis(words: list[str]) -> list[str]:
    """A usage synopsis as a command line: brackets and `...` dropped, placeholders given sample values."""
    filled = []
    for word in words:
        bare = word.strip("[]")
        if bare in ("", "...", "…"):
            continue
        filled.append(SAMPLES.get(bare, "placeholder") if PLACEHOLDER.fullmatch(bare) else bare)
    return filled


def _command(where: str, text: str) -> Command | None:
    """The documented command on this line, or None when the line runs something else (prefect, export...)."""
    try:
        words = _words(text)
    except ValueError as exc:
        if re.search(r"\bnewsdigest\b|benchmarks\.", text):
            return Command(where, text, error=f"cannot be split as a shell line: {exc}")
        return None
    for segment in _segments(words):
        segment = [re.sub(r"^ExecStart=", "", segment[0]), *segment[1:]]
        while segment and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", segment[0]):
            segment = segment[1:]  # VAR=value before the command
        if not segment:
            continue
        program, rest = segment[0], _fill_synopsis(segment[1:])
        if NEWSDIGEST.fullmatch(program):
            return Command(where, text, "newsdigest", rest)
        if PYTHON.fullmatch(program) and len(rest) >= 2 and rest[0] == "-m" and rest[1].startswith("benchmarks."):
            return Command(where, text, rest[1], rest[2:])
        if program == "make":
            return Command(where, text, "make", rest)
    return None


def extract_commands(markdown: str, name: str) -> list[Command]:
    """The commands of a Markdown text: its code blocks' lines and its prose's inline code spans."""
    lines: list[tuple[int, str]] = []  # (line number, text), continuations joined
    found: list[Command] = []
    in_block = False
    continued = False
    block_start = 0  # the index in `lines` of the current block's first line: nothing joins across blocks
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE.match(line):
            in_block, continued, block_start = not in_block, False, len(lines)
            continue
        if not in_block:
            for span in INLINE_CODE.findall(line):
                if (command := _command(f"{name}:{number}", span)) is not None:
                    found.append(command)
            continue
        stripped = line.strip()
        wrapped = stripped.startswith("[") and len(lines) > block_start and lines[-1][1].endswith("]")
        if len(lines) > block_start and (continued or wrapped):
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {stripped}")
        else:
            lines.append((number, stripped))
        continued = stripped.endswith("\\")
        if continued:
            lines[-1] = (lines[-1][0], lines[-1][1][:-1].rstrip())
    for number, text in lines:
        if (command := _command(f"{name}:{number}", text)) is not None:
            found.append(command)
    return found


def _newsdigest_parser() -> argparse.ArgumentParser:
    from newsdigest import cli

    for name in ("build_parser", "_parser", "parser"):
        factory = getattr(cli, name, None)
        if callable(factory):
            parser = factory()
            assert isinstance(parser, argparse.ArgumentParser)
            return parser
    raise AssertionError("newsdigest.cli has no parser factory (build_parser or _parser)")


def _parser(kind: str) -> argparse.ArgumentParser:
    if kind == "newsdigest":
        return _newsdigest_parser()
    module = importlib.import_module(kind)
    assert hasattr(module, "build_parser"), f"{kind} has no build_parser()"
    parser = module.build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    return parser


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {target for line in text.splitlines() if (m := re.match(r"^([\w.-]+)\s*:(?!=)", line)) for target in [m[1]]}


def problem(command: Command) -> str | None:
    """Why the documented command would not work as written, or None."""
    if command.error:
        return f"{command.where}: {command.text!r} {command.error}"
    if command.kind == "make":
        missing = [target for target in command.args if not target.startswith("-") and target not in _make_targets()]
        return f"{command.where}: {command.text!r} names no Makefile target {missing}" if missing else None
    for word in command.args:
        path = ROOT / word
        if word.split("/", 1)[0] in REPO_FOLDERS and not (path.exists() or path.parent.is_dir()):
            return f"{command.where}: {command.text!r} names {word}, but neither it nor its folder is in the repository"
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            _parser(command.kind).parse_args(command.args)
    except SystemExit as exc:
        if exc.code not in (0, None):  # --help and --version exit 0
            return f"{command.where}: {command.text!r} does not parse: {errors.getvalue().strip()}"
    return None


def _documented() -> list[Command]:
    return [
        command for name in DOCUMENTS for command in extract_commands((ROOT / name).read_text(encoding="utf-8"), name)
    ]


DOCUMENTED = _documented()


@pytest.mark.parametrize("command", DOCUMENTED, ids=[command.where for command in DOCUMENTED])
def test_a_documented_command_parses(command: Command) -> None:
    assert problem(command) is None, problem(command)


def test_the_documents_show_commands_of_every_kind() -> None:
    """The extraction finds what the documents show (a broken extraction would check nothing)."""
    readme = [command for command in DOCUMENTED if command.where.startswith("README.md:")]
    benchmarks = {command.kind for command in DOCUMENTED if command.kind.startswith("benchmarks.")}
    assert sum(command.kind == "newsdigest" for command in readme) >= 10
    assert {"make"} <= {command.kind for command in readme}
    assert len(benchmarks) >= 5, benchmarks
    subcommands = {command.args[0] for command in readme if command.kind == "newsdigest" and command.args}
    assert {"run", "send", "sources", "serve", "open", "config"} <= subcommands, subcommands


def test_the_check_catches_a_made_up_option_and_fills_synopses() -> None:
    made_up = """Some prose with `newsdigest run --no-such-option` in it.

```sh
.venv/bin/newsdigest run --config my.toml --bogus
newsdigest sources add https://example.com/ --colour red
newsdigest frobnicate
.venv/bin/python -m benchmarks.dedup --corpus c.jsonl --no-such-flag 3
.venv/bin/python -m benchmarks.pipeline \\
    --articles 10 --runner nope
make no-such-target
.venv/bin/python -m benchmarks.train_salience --dataset d.jsonl --out src/newsdigest/no-such-folder/s.json
.venv/bin/newsdigest run [--date YYYY-MM-DD] [--out DIR]
                         [--source URL ...] [--quiet]
(cd elsewhere && PYTHONPATH=src:. python -m benchmarks.pipeline --articles 5 --no-plain)
.venv/bin/prefect server start
```
"""
    commands = extract_commands(made_up, "made-up.md")
    assert [command.where for command in commands] == [f"made-up.md:{n}" for n in (1, 4, 5, 6, 7, 8, 10, 11, 12, 14)]
    failing = [problem(command) for command in commands]
    assert all(failing[:8]), failing
    assert "--no-such-option" in (failing[0] or "") and "--bogus" in (failing[1] or "")
    synopsis, subshell = commands[8], commands[9]
    assert synopsis.args == [
        "run",
        "--date",
        "2025-04-16",
        "--out",
        "placeholder",
        "--source",
        "placeholder",
        "--quiet",
    ]
    assert subshell.kind == "benchmarks.pipeline" and subshell.args == ["--articles", "5", "--no-plain"]
    assert failing[8:] == [None, None]
