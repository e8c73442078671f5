from __future__ import annotations

from pathlib import Path

import pytest

from newsdigest.cli import main
from newsdigest.config.checks import http_url
from newsdigest.config.load import load_config, parse_config
from newsdigest.errors import ConfigError
from newsdigest.models import SourceKind
from tests.conftest import SEEDS


def test_seed_config_loads_and_resolves_paths_against_its_folder() -> None:
    config = load_config(SEEDS / "sources.toml")
    assert len(config.sources) >= 5
    text_sources = [s for s in config.sources if s.kind is SourceKind.TEXT]
    assert text_sources and Path(text_sources[0].location).is_dir()
    for source in config.sources:
        if "://" not in source.location:
            assert Path(source.location).exists(), source
    assert config.fetch.mirrors, "the seeds are read offline through mirrors"
    for _prefix, folder in config.fetch.mirrors:
        assert folder.is_dir()


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[digest]\ntitel = "typo"\n')
    with pytest.raises(ConfigError, match="titel"):
        load_config(path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="window_hours"):
        parse_config({"digest": {"window_hours": "24"}}, tmp_path)
    with pytest.raises(ConfigError, match="window_hours"):
        parse_config({"digest": {"window_hours": True}}, tmp_path)


def test_bad_timezone_and_date(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="time zone"):
        parse_config({"digest": {"timezone": "Mars/Olympus"}}, tmp_path)
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        parse_config({"digest": {"date": "16/04/2025"}}, tmp_path)


def test_source_needs_exactly_one_location(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        parse_config({"sources": [{"name": "x"}]}, tmp_path)
    with pytest.raises(ConfigError, match="exactly one"):
        parse_config({"sources": [{"name": "x", "url": "https://a.example/f", "path": "f.xml"}]}, tmp_path)


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    sources = [{"name": "A", "url": "https://a.example/1"}, {"name": "A", "url": "https://a.example/2"}]
    with pytest.raises(ConfigError, match="two sources"):
        parse_config({"sources": sources}, tmp_path)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[digest\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_config(bad)


def test_urls_stay_urls_and_state_paths_resolve(tmp_path: Path) -> None:
    config = parse_config(
        {"store": {"url": "state/db.sqlite"}, "sources": [{"name": "A", "url": "https://a.example/feed"}]}, tmp_path
    )
    assert config.sources[0].location == "https://a.example/feed"
    assert config.state == str(tmp_path / "state/db.sqlite")
    pg = parse_config({"store": {"url": "postgresql+psycopg://localhost/test"}}, tmp_path)
    assert pg.state == "postgresql+psycopg://localhost/test"


def test_clean_settings(tmp_path: Path) -> None:
    config = parse_config({"clean": {"source_memory": False, "memory_min_pages": 3}}, tmp_path)
    assert config.clean.source_memory is False and config.clean.memory_min_pages == 3
    assert parse_config({}, tmp_path).clean.source_memory is True
    with pytest.raises(ConfigError, match="memory_min_pages"):
        parse_config({"clean": {"memory_min_pages": 0}}, tmp_path)
    with pytest.raises(ConfigError, match="source_memory"):
        parse_config({"clean": {"source_memory": "yes"}}, tmp_path)
    with pytest.raises(ConfigError, match="memory_pages"):
        parse_config({"clean": {"memory_pages": 2}}, tmp_path)


def test_summarizer_is_extractive_unless_configured(tmp_path: Path) -> None:
    settings = parse_config({}, tmp_path).summarizer
    assert settings.backend == "extractive" and not settings.enabled
    assert settings.timeout_seconds == 60 and settings.max_claims == 5 and settings.temperature == 0
    # Endpoint keys may stay in the file while the backend is switched off.
    off = parse_config({"summarizer": {"base_url": "http://127.0.0.1:8080/v1"}}, tmp_path).summarizer
    assert off.base_url == "http://127.0.0.1:8080/v1" and not off.enabled


def test_openai_summarizer_settings(tmp_path: Path) -> None:
    table = {
        "backend": "openai",
        "base_url": "http://127.0.0.1:11434/v1/",
        "model": "llama3.1:8b",
        "api_key_env": "LLM_API_KEY",
        "timeout_seconds": 120,
        "max_claims": 4,
        "temperature": 0.2,
        "max_input_chars": 8000,
    }
    settings = parse_config({"summarizer": table}, tmp_path).summarizer
    assert settings.enabled and settings.base_url == "http://127.0.0.1:11434/v1"  # the trailing slash goes
    assert (settings.model, settings.api_key_env, settings.timeout_seconds) == ("llama3.1:8b", "LLM_API_KEY", 120.0)
    assert (settings.max_claims, settings.temperature, settings.max_input_chars) == (4, 0.2, 8000)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"backend": "gpt"}, "backend must be extractive or openai"),
        ({"backend": "openai", "model": "m"}, "base_url is needed"),
        ({"backend": "openai", "base_url": "http://127.0.0.1:8080/v1"}, "model is needed"),
        ({"base_url": "ftp://127.0.0.1/v1"}, "base_url must be an http"),
        ({"base_url": "127.0.0.1:8080"}, "base_url must be an http"),
        ({"timeout_seconds": 0}, "timeout_seconds must be positive"),
        ({"timeout_seconds": "60"}, "timeout_seconds must be"),
        ({"max_claims": 0}, "max_claims must be at least 1"),
        ({"max_claims": True}, "max_claims must be int"),
        ({"temperature": 3}, "temperature must be between 0 and 2"),
        ({"max_input_chars": 10}, "max_input_chars must be at least"),
        ({"api_key": "sk-123"}, "must not hold an API key in clear"),
        ({"modle": "m"}, "unknown key 'modle' in \\[summarizer\\]"),
    ],
)
def test_bad_summarizer_settings_are_named(tmp_path: Path, table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"summarizer": table}, tmp_path)


def test_summarizer_errors_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[digest]\ntitle = "x"\n\n[summarizer]\nbackend = "openai"\nmodel = "m"\nbase_url = "file:///x"\n')
    with pytest.raises(ConfigError, match=r"\[summarizer\] base_url must be an http\(s\) URL.*\(line 7\)"):
        load_config(path)
    path.write_text('[summarizer]\nbackend = "openai"\nmodel = "m"\n')
    with pytest.raises(ConfigError, match=r"base_url is needed.*\(line 1\)"):
        load_config(path)
    path.write_text('[summarizer]\nbackend = "openai"\napi_key = "sk-secret"\n')
    with pytest.raises(ConfigError, match="api_key_env") as raised:
        load_config(path)
    assert "sk-secret" not in str(raised.value)


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[digest]\ntitle = "x"\nwindow_hours = 0\n\n[fetch]\nread_timeout = "slow"\n\n'
        '[[sources]]\nname = "A"\nurl = "https://a.example/f"\n\n[[sources]]\nname = "B"\nurl = "https://b.example/f"\n'
        "weight = -1\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{path}: 3 problems:"
    assert lines[1:] == [
        "  [digest] window_hours must be positive, got 0 (line 3)",
        "  [fetch] read_timeout must be int or float, got 'slow' (line 6)",
        "  [[sources]] #2 weight must be positive, got -1.0 (line 15)",
    ]


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("[fetch]\nretries = 1\nread_timeout = -2\n", "[fetch] read_timeout", 3),
        ('[digest]\ntimezone = "Mars/Olympus"\n', "[digest] timezone", 2),
        ("[dedup]\nstory_threshold = 2\n", "[dedup] story_threshold", 2),
        ("[email]\nsmtp_port = 70000\n", "[email] smtp_port", 2),
        ("[store]\nurl = 5\n", "[store] url", 2),
        ("[run]\n\ndask_workers = 0\n", "[run] dask_workers", 3),
        ('[filters]\nhighlight = ["/(open/"]\n', "[filters] highlight", 2),
        ('[fetch.mirrors]\n"https://a.example/" = 1\n', "[fetch] mirrors", 1),
        ('[summarizer]\nbase_url = "ftp://x/"\n', "[summarizer] base_url", 2),
        ('[[sources]]\nurl = "https://a.example/f"\nmax_stories = 0\n', "[[sources]] #1 max_stories", 3),
        ('[[sources]]\nname = "A"\n', "[[sources]] #1 needs exactly one of", 1),
        ('title = "x"\n', "unknown key 'title' in [top level]", 1),
    ],
)
def test_each_problem_names_its_key_and_line(tmp_path: Path, text: str, key: str, line: int) -> None:
    _assert_refused_at(tmp_path, text, key, line)


def test_lines_skip_strings_and_arrays_that_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[digest]\ntitle = """two\nwindow_hours = 5\n[fetch]"""\n\n[filters]\ninclude = [\n  "retries = 1",\n]\n'
        "[fetch]\nretries = -1\n"
    )
    with pytest.raises(ConfigError, match=r"\[fetch\] retries must be at least 0, got -1 \(line 11\)"):
        load_config(path)


def test_environment_overrides_win_and_their_mistakes_name_the_variable(tmp_path: Path) -> None:
    environ = {"NEWSDIGEST_SMTP_SECURITY": "STARTTLS", "NEWSDIGEST_EMAIL_TO": "a@example.org, b@example.org"}
    email = parse_config({"email": {"smtp_security": "ssl", "from": "me@example.org"}}, tmp_path, environ=environ).email
    assert email.smtp_security == "starttls" and email.to == ("a@example.org", "b@example.org")
    with pytest.raises(ConfigError, match=r"smtp_security \(set by NEWSDIGEST_SMTP_SECURITY\) must be ssl"):
        parse_config({}, tmp_path, environ={"NEWSDIGEST_SMTP_SECURITY": "tls"})


def test_one_http_url_check(tmp_path: Path) -> None:
    assert http_url(" https://news.example.org/d ") == "https://news.example.org/d"
    assert http_url("https://news.example.org/d", trailing_slash=True) == "https://news.example.org/d/"
    assert http_url("http://127.0.0.1:8080/v1/", trailing_slash=False) == "http://127.0.0.1:8080/v1"
    for bad in ("news.example.org", "ftp://a.example/", "https://", "http://[::1", "https://a b/"):
        with pytest.raises(ValueError, match="must be an http"):
            http_url(bad)
        for table in ("digest", "summarizer"):
            with pytest.raises(ConfigError, match=rf"\[{table}\] base_url must be an http"):
                parse_config({table: {"base_url": bad}}, tmp_path)


@pytest.mark.parametrize("command", [["config", "check"], ["check-config"]])
def test_both_spellings_of_the_check_report_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[digest]\nwindow_hours = 0\nmax_stories = 0\n")
    assert main([*command, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "window_hours" in err and "(line 2)" in err and "max_stories" in err and "(line 3)" in err
    assert main([*command, "--config", str(SEEDS / "sources.toml")]) == 0
    assert "ok, " in capsys.readouterr().out


def _number_keys() -> list[tuple[str, str, type]]:
    """Every number key of the file: (table, key, int or float), read from the records themselves."""
    import typing

    from newsdigest.config.load import TABLES
    from newsdigest.config.records import SourceTable
    from newsdigest.config.schema import _optional, keys_of

    found = []
    for table, cls in [*TABLES.items(), ("sources", SourceTable)]:
        hints = typing.get_type_hints(cls)
        for name, (attribute, _spec) in keys_of(cls).items():
            kind = _optional(hints[attribute])
            if kind in (int, float):
                found.append((table, name, kind))
    return found


def test_every_number_key_refuses_huge_values_nan_and_infinity(tmp_path: Path) -> None:
    keys = _number_keys()
    assert len(keys) >= 25  # the walk found the records' keys
    for table, name, kind in keys:
        bad_values: list[object] = [2**63 - 1, 10**30]
        if kind is float:
            bad_values += [float("nan"), float("inf"), -float("inf"), 1e300]
        for value in bad_values:
            item = {name: value}
            data = {"sources": [{"url": "https://a.example/f", **item}]} if table == "sources" else {table: item}
            with pytest.raises(ConfigError, match=name):
                parse_config(data, tmp_path)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("[digest]\nwindow_hours = 99999999999\n", "[digest] window_hours", 2),
        ("[fetch]\nread_timeout = nan\n", "[fetch] read_timeout", 2),
        ("[fetch]\n\nread_timeout = inf\n", "[fetch] read_timeout", 3),
        ("[dedup]\nretention_days = -3\n", "[dedup] retention_days", 2),
        ("[digest]\nmax_stories = 99999999999999999999999\n", "[digest] max_stories", 2),
        ("[digst]\ntitle = 'x'\n", "unknown key 'digst'", 1),
        ("[digest]\ntitle = 'x'\n\ndigest2 = 1\n", "unknown key 'digest2' in [digest]", 4),
        ("digest = 'x'\n", "[digest] must be a table", 1),
        ("\nsources = 'x'\n", "'sources' must be an array", 2),
        (
            "[[sources]]\nname = 'A'\nurl = 'https://a.example/1'\n[[sources]]\nname = 'A'\nurl = 'https://a.example/2'\n",
            "two sources are named 'A'",
            5,
        ),
        ("[store]\nurl = 'mysql://u@127.0.0.1/news'\n", "[store] url", 2),
    ],
)
def test_values_that_would_break_the_run_name_their_key_and_line(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    _assert_refused_at(tmp_path, text, key, line)


def test_a_file_in_another_encoding_names_the_encoding_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[digest]\ntitle = "x"\n', encoding="utf-16")
    with pytest.raises(ConfigError, match=r"UTF-16.*save it as UTF-8.*\(line 1\)"):
        load_config(path)
    path.write_bytes('[digest]\ntitle = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"not UTF-8.*\(line 2\)"):
        load_config(path)
    path.write_bytes(b"\xef\xbb\xbf" + b'[digest]\ntitle = "x"\n')  # a UTF-8 byte-order mark is fine
    assert load_config(path).digest.title == "x"


def _assert_refused_at(tmp_path: Path, text: str, key: str, line: int) -> None:
    """Loading `text` fails with one problem that names `key` and ends with its line."""
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert key in message and message.endswith(f"(line {line})"), message
