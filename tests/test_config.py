from __future__ import annotations

from pathlib import Path

import pytest

from newsdigest.config.settings import load_config, parse_config
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
