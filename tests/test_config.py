"""Configuration: strict keys, typed values, profiles, run ids."""
from __future__ import annotations

from pathlib import Path

import pytest

from embcollapse.chapters import chapter_params
from embcollapse.config import (ConfigError, DataConfig, ModelConfig, RunConfig, from_dict,
                                list_profiles, load_profile, replace)
from embcollapse.identity import run_id


def test_profiles_exist_and_load() -> None:
    names = list_profiles()
    assert {"smoke", "default", "paper"} <= set(names)
    for name in names:
        profile = load_profile(name)
        assert profile.name == name and profile.description


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'nope'.*default"):
        load_profile("nope")


def test_unknown_key_is_an_error_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  teacher:\n    rnak: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.data.teacher: unknown key\(s\) rnak"):
        load_profile(bad)


def test_wrong_type_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  batch_size: lots\n")
    with pytest.raises(ConfigError, match=r"train.batch_size must be an integer, got .lots."):
        load_profile(bad)


def test_unknown_chapter_and_chapter_parameter(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("chapters:\n  colapse: {}\n")
    with pytest.raises(ConfigError, match="unknown chapter 'colapse'"):
        load_profile(bad)
    bad.write_text("chapters:\n  collapse:\n    embed_dim: [1]\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) embed_dim"):
        load_profile(bad)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) sizes"):
        chapter_params(load_profile("smoke"), "collapse", sizes=[3])


def test_chapter_overrides_take_precedence_and_none_means_profile() -> None:
    profile = load_profile("smoke")
    params = chapter_params(profile, "collapse", embed_dims=[2, 3], models=None)
    assert params.embed_dims == (2, 3)
    assert params.models == tuple(profile.chapters["collapse"]["models"])


def test_run_id_is_stable_and_sensitive() -> None:
    tiny = DataConfig(preset="tiny", rows=2_000)
    a = RunConfig(data=tiny, model=ModelConfig(name="dnn", embed_dim=10))
    b = RunConfig(data=tiny, model=ModelConfig(name="dnn", embed_dim=10))
    c = RunConfig(data=tiny, model=ModelConfig(name="dnn", embed_dim=11))
    assert run_id(a) == run_id(b) != run_id(c)
    assert len(run_id(a)) == 12
    assert run_id(replace(a, {"seed": 1})) != run_id(a)


def test_replace_merges_nested_values() -> None:
    data = replace(DataConfig(), {"teacher": {"rank": 3}, "rows": 100})
    assert data.teacher.rank == 3 and data.rows == 100
    assert data.teacher.noise_scale == DataConfig().teacher.noise_scale


def test_from_dict_converts_lists_and_ints_to_float() -> None:
    profile = load_profile("smoke")
    assert isinstance(profile.seeds, tuple)
    data = from_dict(DataConfig, {"zipf": 1})
    assert isinstance(data.zipf, float)
