"""The authors' protocol as settings (issue 26): one fixed order of the training rows
(``train.shuffle: fixed-order``) and a split that follows each run's seed
(``data.split_per_run``)."""
from __future__ import annotations

import numpy as np
import pytest

from embcollapse.config import (ConfigError, DataConfig, ModelConfig, Profile, RunConfig,
                                TrainConfig, from_dict, replace, to_dict)
from embcollapse.data.loader import BatchLoader
from embcollapse.data.splits import Split


def orders(loader: BatchLoader, epochs: int) -> list[np.ndarray]:
    """The row order of each epoch (the split's ids are the row numbers)."""
    return [np.concatenate([ids[:, 0].numpy() for ids, _ in loader.epoch(e)])
            for e in range(epochs)]


def numbered(rows: int) -> Split:
    return Split(np.arange(rows)[:, None], np.zeros(rows))


def test_fixed_order_yields_one_permutation_every_epoch_and_reshuffling_does_not() -> None:
    fixed = orders(BatchLoader(numbered(500), 64, shuffle=True, seed=3, reshuffle=False), 4)
    assert all(np.array_equal(fixed[0], o) for o in fixed[1:])
    assert sorted(fixed[0]) == list(range(500)) and not np.array_equal(fixed[0], np.arange(500))
    moving = orders(BatchLoader(numbered(500), 64, shuffle=True, seed=3), 4)
    assert np.array_equal(moving[0], fixed[0])          # epoch 0 is the same draw
    assert all(not np.array_equal(moving[0], o) for o in moving[1:])
    other_seed = orders(BatchLoader(numbered(500), 64, shuffle=True, seed=4, reshuffle=False), 1)
    assert not np.array_equal(other_seed[0], fixed[0])


def test_train_shuffle_is_checked_and_left_out_of_the_dict_at_its_default() -> None:
    assert "shuffle" not in to_dict(TrainConfig())
    assert to_dict(TrainConfig(shuffle="fixed-order"))["shuffle"] == "fixed-order"
    with pytest.raises(ConfigError, match="shuffle.*each-epoch.*fixed-order"):
        from_dict(TrainConfig, {"shuffle": "never"}, "train")


def test_a_per_run_split_follows_the_seed_and_the_fixed_one_does_not() -> None:
    assert "split_per_run" not in to_dict(DataConfig())
    profile = Profile(name="t", data=DataConfig(split_per_run=True, split_seed=0))
    runs = [profile.run_config({"name": "dnn"}, seed=s) for s in (0, 1, 2)]
    assert [r.data.split_seed for r in runs] == [0, 1, 2]
    assert to_dict(runs[1].data)["split_per_run"] is True
    assert replace(runs[1], {"seed": 5}).data.split_seed == 5     # however the seed is set
    fixed = Profile(name="t", data=DataConfig(split_seed=7))
    assert {fixed.run_config({"name": "dnn"}, seed=s).data.split_seed for s in (0, 1)} == {7}
    with pytest.raises(ConfigError, match="split_per_run"):
        from_dict(DataConfig, {"split_per_run": "yes"}, "data")


def test_the_per_run_split_changes_the_rows_with_the_seed() -> None:
    from embcollapse.data import load_dataset

    profile = Profile(name="t", data=DataConfig(preset="tiny", rows=2000, split_per_run=True))
    tests = [load_dataset(profile.run_config({"name": "dnn"}, seed=s).data).test
             for s in (0, 1, 0)]
    assert not np.array_equal(tests[0].ids, tests[1].ids)
    assert np.array_equal(tests[0].ids, tests[2].ids)


def test_the_paper_profiles_use_the_authors_order_and_split() -> None:
    from embcollapse.config import load_profile

    for name in ("paper", "paper-avazu"):
        p = load_profile(name)
        assert p.train.shuffle == "fixed-order" and p.data.split_per_run, name
    default = load_profile("default")
    assert default.train.shuffle == "each-epoch" and not default.data.split_per_run


def test_a_run_of_the_fixed_order_trains_and_differs_from_the_reshuffled_one() -> None:
    from embcollapse.train import fit

    def run(shuffle: str) -> dict:
        config = RunConfig(data=DataConfig(preset="tiny", rows=3000),
                           model=ModelConfig("dnn", embed_dim=4, hyper={"mlp_dims": [16]}),
                           train=TrainConfig(batch_size=256, max_epochs=2, patience=2,
                                             shuffle=shuffle))
        return fit(config, device="cpu", progress=False).record

    fixed, moving = run("fixed-order"), run("each-epoch")
    # the same first epoch (same permutation), another second one
    assert fixed["history"][0]["train_loss"] == moving["history"][0]["train_loss"]
    assert fixed["history"][1]["train_loss"] != moving["history"][1]["train_loss"]
