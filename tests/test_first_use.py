"""A first user's path: `newsdigest init`, where the configuration is found, options anywhere, help and wording."""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path

import pytest

from newsdigest.cli import build_parser, main, plural, summary_line
from newsdigest.config.load import load_config
from newsdigest.config.locate import (
    ENV_VARIABLE,
    SEEDS_CONFIG,
    STARTER_CONFIG,
    locate_config,
    user_config_dir,
    user_config_path,
    write_starter,
)
from newsdigest.errors import ConfigError
from newsdigest.pipeline import RunSummary

DAY = date(2025, 4, 16)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No NEWSDIGEST_CONFIG, and a user config folder (XDG) inside the test's folder."""
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.chdir(tmp_path)
    return xdg


def test_user_config_folder_follows_each_platform_convention(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert user_config_dir({}, "linux", home) == home / ".config" / "newsdigest"
    assert user_config_dir({"XDG_CONFIG_HOME": "/x/cfg"}, "linux", home) == Path("/x/cfg/newsdigest")
    # A relative XDG_CONFIG_HOME is ignored, as the XDG specification says.
    assert user_config_dir({"XDG_CONFIG_HOME": "rel"}, "linux", home) == home / ".config" / "newsdigest"
    assert user_config_dir({}, "darwin", home) == home / "Library" / "Application Support" / "newsdigest"
    assert user_config_dir({"APPDATA": str(tmp_path / "ad")}, "win32", home) == tmp_path / "ad" / "newsdigest"
    assert user_config_path({}, "linux", home).name == "config.toml"


def test_lookup_order_is_option_then_variable_then_user_file_then_seeds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    seeds = locate_config(None, env, "linux", home)
    assert (seeds.path, seeds.origin) == (SEEDS_CONFIG, "seeds")
    assert seeds.notice is not None and "newsdigest init" in seeds.notice
    own = write_starter(user_config_path(env, "linux", home))
    found = locate_config(None, env, "linux", home)
    assert (found.path, found.origin, found.notice) == (str(own), "user", None)
    assert locate_config(None, {**env, ENV_VARIABLE: "from-env.toml"}, "linux", home).path == "from-env.toml"
    assert locate_config("mine.toml", {**env, ENV_VARIABLE: "from-env.toml"}, "linux", home).path == "mine.toml"


def test_starter_config_is_valid_commented_and_not_overwritten(tmp_path: Path) -> None:
    path = write_starter(tmp_path / "deep" / "folder" / "config.toml")
    config = load_config(path)
    assert len(config.sources) == 1 and not config.email.enabled and config.email.send_empty is False
    assert config.state == str(tmp_path / "deep" / "folder" / "state.sqlite")
    assert STARTER_CONFIG.count("\n#") >= 5  # it explains itself
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="already exists"):
        write_starter(path)
    assert path.read_text(encoding="utf-8") == "# mine\n"
    write_starter(path, force=True)
    assert path.read_text(encoding="utf-8") == STARTER_CONFIG


def test_init_then_every_command_finds_the_user_config(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    written = clean_env / "newsdigest" / "config.toml"
    assert written.is_file()
    assert main(["init"]) == 2  # a second init keeps the file
    assert "already exists" in capsys.readouterr().err
    assert main(["config", "check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"{written}: ok, 1 source"
    assert "bundled" not in captured.err


def test_seeds_stand_in_with_a_one_line_notice(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 2  # no seeds folder in the test's working folder
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("newsdigest: using the bundled seeds/sources.toml")
    assert "sources.toml" in err[1]


def test_variable_names_the_config_and_init_path_writes_elsewhere(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "my.toml"]) == 0
    assert f"{ENV_VARIABLE}=my.toml" in capsys.readouterr().out
    assert not (clean_env / "newsdigest").exists()
    monkeypatch.setenv(ENV_VARIABLE, str(tmp_path / "my.toml"))
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith(str(tmp_path / "my.toml"))


def test_global_options_before_or_after_the_subcommand() -> None:
    parser = build_parser()
    cases = {
        ("sources", "import-opml", "subs.opml", "--config", "my.toml"): "my.toml",
        ("--config", "my.toml", "sources", "import-opml", "subs.opml"): "my.toml",
        ("sources", "--config", "my.toml", "list"): "my.toml",
        ("run", "--config", "my.toml"): "my.toml",
        ("--config", "my.toml", "run", "--dry-run"): "my.toml",
        ("config", "check", "--config", "my.toml"): "my.toml",
        ("open", "--config", "my.toml"): "my.toml",
        ("run",): None,
    }
    for argv, expected in cases.items():
        assert parser.parse_args(list(argv)).config == expected, argv
    args = parser.parse_args(["--verbose", "sources", "list", "--state", "s.sqlite"])
    assert args.verbose and args.state == "s.sqlite"
    assert parser.parse_args(["sources", "--state", "a", "list"]).state == "a"  # not undone by the action's default


def _every_parser(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_every_parser(child))
    return found


def test_every_argument_has_help_and_the_main_pages_give_examples_and_exit_codes() -> None:
    parser = build_parser()
    for prog, command in _every_parser(parser):
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{prog} {action.dest} has no help"
    pages = dict(_every_parser(parser))
    for prog in ("newsdigest", "newsdigest run", "newsdigest send", "newsdigest sources", "newsdigest check-config"):
        text = pages[prog].format_help()
        assert "examples:" in text and "exit codes:" in text, prog
    assert "130" in pages["newsdigest run"].format_help()


def test_counts_read_right_in_the_singular_and_the_plural() -> None:
    assert plural(1, "source") == "1 source"
    assert plural(0, "source") == "0 sources"
    assert plural(2, "story", "stories") == "2 stories"
    one = RunSummary(digest_date=DAY, files={}, stories=1, new_articles=1, failed_sources={"a": "x"})
    assert summary_line(one) == "1 story, 1 new article, 1 failed source"
    unchanged = RunSummary(digest_date=DAY, files={}, stories=21, new_articles=0, failed_sources={})
    assert summary_line(unchanged) == "21 stories, 0 new articles, no failed sources"  # no earlier run today
    assert summary_line(unchanged, "06:00") == "nothing new since 06:00; 21 stories in the digest"


def test_sources_list_creates_no_state_file(
    clean_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_starter(tmp_path / "c" / "config.toml")
    assert main(["sources", "list", "--config", str(config)]) == 0
    assert "Example feed" in capsys.readouterr().out
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


def test_opml_import_counts_read_right(clean_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_starter(tmp_path / "config.toml")
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        '<outline text="Example feed" type="rss" xmlUrl="https://example.org/feed.xml"/>'
        '<outline text="Other" type="rss" xmlUrl="https://example.net/rss"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    assert main(["sources", "import-opml", str(opml), "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "1 of 2 feeds added (1 was already configured)"


def test_source_edits_refuse_the_bundled_seeds_unless_named(
    clean_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds" / "sources.toml"
    seeds.parent.mkdir()
    seeds.write_text(STARTER_CONFIG, encoding="utf-8")
    assert main(["sources", "remove", "Example feed"]) == 2
    assert "not editing the bundled seeds/sources.toml" in capsys.readouterr().err
    assert seeds.read_text(encoding="utf-8") == STARTER_CONFIG
    assert main(["sources", "list"]) == 0  # reading them is fine
    assert main(["sources", "remove", "Example feed", "--config", str(seeds)]) == 0
    assert "Example feed" not in seeds.read_text(encoding="utf-8")


def test_telemetry_is_off_unless_the_user_said_otherwise(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_starter(tmp_path / "config.toml")
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    assert main(["config", "check", "--config", str(config)]) == 0
    assert os.environ["DO_NOT_TRACK"] == "1"
    monkeypatch.setenv("DO_NOT_TRACK", "0")
    assert main(["config", "check", "--config", str(config)]) == 0
    assert os.environ["DO_NOT_TRACK"] == "0"
