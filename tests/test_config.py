from __future__ import annotations

from pathlib import Path

import pytest

from newsdigest.config import load_config, parse_config
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
