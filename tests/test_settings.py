"""How settings are read: the environment over `.env`, names in any case, booleans in the words
people write, an empty value unsetting what may be unset, and a message naming a bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import ConfigError, Secret, Settings, load_settings


def test_the_environment_wins_over_dot_env_and_overrides_over_both(clean, tmp_path):
    (tmp_path / ".env").write_text("RAGBOT_TOP_K=7\nRAGBOT_HISTORY_TURNS=2\nRAGBOT_COLLECTION=from-file\n")
    clean.setenv("RAGBOT_TOP_K", "9")
    settings = load_settings(collection="given")
    assert (settings.top_k, settings.history_turns, settings.collection) == (9, 2, "given")


def test_names_and_choices_in_any_case_and_values_without_their_spaces(clean):
    clean.setenv("ragbot_top_k", " 4 ")
    clean.setenv("RAGBOT_LOG_LEVEL", "debug")
    clean.setenv("RAGBOT_CHROMA_AUTH_HEADER", "x-chroma-token")
    clean.setenv("RAGBOT_LLM_MODEL", "  openai/gpt-4o-mini\t")
    settings = load_settings()
    assert settings.top_k == 4 and settings.log_level == "DEBUG"
    assert settings.chroma_auth_header == "X-Chroma-Token" and settings.llm_model == "openai/gpt-4o-mini"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
    ],
)
def test_booleans_read_the_words_people_write(clean, value, expected):
    clean.setenv("RAGBOT_CHROMA_SSL", value)
    assert load_settings().chroma_ssl is expected


def test_an_empty_value_unsets_what_may_be_unset_and_is_refused_elsewhere(clean, tmp_path):
    (tmp_path / ".env").write_text("RAGBOT_CHROMA_HOST=\nRAGBOT_REFUSAL_THRESHOLD=\nRAGBOT_LLM_API_KEY=\n")
    settings = load_settings()
    assert settings.chroma_host is None and settings.refusal_threshold is None and settings.llm_api_key is None
    clean.setenv("RAGBOT_TOP_K", "")
    with pytest.raises(ConfigError, match="RAGBOT_TOP_K"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("RAGBOT_CHROMA_SSL", "perhaps", "RAGBOT_CHROMA_SSL: Expected `bool`"),
        ("RAGBOT_CHROMA_PORT", "70000", "RAGBOT_CHROMA_PORT: Expected `int` <= 65535"),
        ("RAGBOT_CHROMA_AUTH_HEADER", "Cookie", "(one of Authorization, X-Chroma-Token)"),
        ("RAGBOT_LOG_LEVEL", "LOUD", "(one of DEBUG, INFO, WARNING, ERROR, CRITICAL)"),
        ("RAGBOT_COLLECTION", "a..b", "RAGBOT_COLLECTION: must be 3-512 characters"),
        ("RAGBOT_LLM_TIMEOUT", "0", "RAGBOT_LLM_TIMEOUT: Expected `float` > 0.0"),
    ],
)
def test_a_bad_value_names_its_variable_and_what_is_expected(clean, name, value, shown):
    clean.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(f"invalid setting: {name}: ") and shown in str(err.value)
    assert err.value.exit_code == 2


def test_paths_not_set_resolve_against_the_root_and_set_ones_are_used_as_given(clean, tmp_path):
    (tmp_path / ".ragbot").mkdir()
    (tmp_path / "sub").mkdir()
    clean.chdir(tmp_path / "sub")
    settings = load_settings()
    assert settings.chroma_path == tmp_path / ".ragbot" / "chroma" and settings.seeds_dir == tmp_path / "seeds"
    clean.setenv("RAGBOT_SEEDS_DIR", "docs")
    assert load_settings().seeds_dir == Path("docs")


def test_settings_built_in_code_are_checked_and_copied_with_changes():
    settings = Settings.of(top_k="3", llm_api_key="sk-abc", chroma_path="store")
    assert settings.top_k == 3 and settings.chroma_path == Path("store")
    assert isinstance(settings.llm_api_key, Secret) and settings.llm_api_key.get_secret_value() == "sk-abc"
    assert "sk-abc" not in repr(settings) and "sk-abc" not in str(settings.llm_api_key)
    with pytest.raises(ConfigError, match="RAGBOT_TOP_K"):
        Settings.of(top_k=0)
    changed = settings.replace(top_k=8)
    assert (changed.top_k, settings.top_k, changed.llm_api_key) == (8, 3, settings.llm_api_key)
    with pytest.raises(AttributeError):
        settings.top_k = 9  # type: ignore[misc]  # frozen: one settings object, passed down unchanged
