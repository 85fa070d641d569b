import pytest

from jobs.config import ConfigError, config_hash, load_config


def test_defaults_and_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("lake: /data/lake\ningest:\n  max_chars: 500\n")
    cfg = load_config(f, {"ingest.default_source": "web", "lake": None})
    assert (cfg.lake, cfg.ingest.max_chars, cfg.ingest.default_source) == ("/data/lake", 500, "web")
    assert cfg.spark.master == "local[*]"


def test_unknown_key_names_the_closest_allowed_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("ingest:\n  max_char: 5\n")
    with pytest.raises(
        ConfigError, match=r"unknown config key 'ingest.max_char'.*Did you mean 'ingest.max_chars'"
    ):
        load_config(f)


def test_wrong_type_is_rejected(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("ingest:\n  max_chars: lots\n")
    with pytest.raises(ConfigError, match="'ingest.max_chars' must be int"):
        load_config(f)


def test_missing_file_names_the_flag():
    with pytest.raises(ConfigError, match="--config"):
        load_config("/nonexistent/c.yaml")


def test_config_hash_changes_with_settings():
    a, b = load_config(), load_config(overrides={"ingest.max_chars": 10})
    assert config_hash(a.ingest) == config_hash(load_config().ingest)
    assert config_hash(a.ingest) != config_hash(b.ingest)
