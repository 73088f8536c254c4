"""One source of training randomness at a time (issue 25): ``train.init_seed`` (initial
weights), ``train.order_seed`` (batch order), ``train.dropout_seed`` (dropout masks).

Each test traces a one-epoch fit: the weights it starts from, the first training batch's rows
and torch's generator state at the first dropout mask (which fixes the mask's bits)."""
from __future__ import annotations

import hashlib

import pytest
import torch

from embcollapse import train as train_module
from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig, replace, to_dict
from embcollapse.data import load_dataset
from embcollapse.data.loader import BatchLoader
from embcollapse.errors import ConfigError
from embcollapse.identity import run_id
from embcollapse.models import layers

DATA = DataConfig(preset="tiny", rows=3000)
BASE = RunConfig(data=DATA, model=ModelConfig(name="dcnv2", embed_dim=4),
                 train=TrainConfig(batch_size=256, max_epochs=1, embed_init_rows=1000), seed=3)


def with_seeds(**seeds: int) -> RunConfig:
    return replace(BASE, {"train": {f"{k}_seed": v for k, v in seeds.items()}})


def digest(tensors) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def data():
    return load_dataset(DATA)


def trace(config: RunConfig, data, monkeypatch) -> dict[str, str]:
    """One-epoch fit of ``config``: digests of its initial weights, its first training batch
    and the generator state its first dropout mask is drawn from; and its test scores."""
    seen: dict[str, str] = {}
    start, epoch, dropout = train_module.start_model, BatchLoader.epoch, layers.dropout_cpu

    def traced_start(*args, **kwargs):
        model = start(*args, **kwargs)
        seen["init"] = digest(model.state_dict().values())
        return model

    def traced_epoch(self, e=0):
        for i, (ids, labels) in enumerate(epoch(self, e)):
            if self.shuffle and i == 0 and e == 0:
                seen["order"] = digest([ids])
            yield ids, labels

    def traced_dropout(x, p):
        seen.setdefault("dropout", digest([torch.get_rng_state()]))
        return dropout(x, p)

    monkeypatch.setattr(train_module, "start_model", traced_start)
    monkeypatch.setattr(BatchLoader, "epoch", traced_epoch)
    monkeypatch.setattr(layers, "dropout_cpu", traced_dropout)
    result = train_module.fit(config, data, device="cpu", progress=False)
    monkeypatch.undo()
    seen["scores"] = digest([torch.from_numpy(result.test_scores)])
    return seen


def test_unset_sources_train_exactly_as_the_single_seed_did(data, monkeypatch) -> None:
    """With no source seed set, the weights are those of ``seed_everything(seed)`` then the
    model's build, the order that of a loader seeded with ``seed``, and the first mask is
    drawn from the generator state the build left (as before these settings existed)."""
    got = trace(BASE, data, monkeypatch)
    train_module.seed_everything(BASE.seed)
    model = train_module.build_run_model(BASE.model, BASE.train, data.field_dims)
    assert got["init"] == digest(model.state_dict().values())
    assert got["dropout"] == digest([torch.get_rng_state()])
    ids, _ = next(BatchLoader(data.train, 256, "cpu", shuffle=True, seed=BASE.seed).epoch(0))
    assert got["order"] == digest([ids])
    # and the run's identity is untouched: no new key in its dict
    assert not {"init_seed", "order_seed", "dropout_seed"} & set(to_dict(BASE)["train"])


def test_each_source_seed_changes_its_own_randomness_only(data, monkeypatch) -> None:
    fixed = trace(with_seeds(init=0, order=0, dropout=0), data, monkeypatch)
    for source in ("init", "order", "dropout"):
        other = trace(with_seeds(**{"init": 0, "order": 0, "dropout": 0, source: 1}), data,
                      monkeypatch)
        for part in ("init", "order", "dropout"):
            assert (other[part] != fixed[part]) == (part == source), (source, part)
        assert other["scores"] != fixed["scores"], source     # and the trained model differs


def test_init_seed_alone_keeps_order_and_masks(data, monkeypatch) -> None:
    """``init_seed`` set alone (order and dropout: the run's seed): other weights, the same
    batches and masks whatever the init seed."""
    a, b = (trace(with_seeds(init=s), data, monkeypatch) for s in (5, 6))
    assert a["init"] != b["init"]
    assert a["order"] == b["order"] and a["dropout"] == b["dropout"]


def test_sources_set_to_the_seed_differ_from_unset_only_in_the_masks(data, monkeypatch) -> None:
    """Setting all three to the run's seed draws the same weights and batches as leaving them
    unset; the dropout generator is seeded again after the init, so the masks differ."""
    unset = trace(BASE, data, monkeypatch)
    explicit = trace(with_seeds(init=BASE.seed, order=BASE.seed, dropout=BASE.seed), data,
                     monkeypatch)
    assert unset["init"] == explicit["init"] and unset["order"] == explicit["order"]
    assert unset["dropout"] != explicit["dropout"]


def test_source_seeds_are_checked_resolved_and_kept_out_of_ids_when_unset() -> None:
    assert [BASE.source_seed(s) for s in ("init", "order", "dropout")] == [3, 3, 3]
    cfg = with_seeds(order=7)
    assert [cfg.source_seed(s) for s in ("init", "order", "dropout")] == [3, 7, 3]
    assert to_dict(cfg)["train"]["order_seed"] == 7 and "init_seed" not in to_dict(cfg)["train"]
    assert run_id(cfg) != run_id(BASE)
    assert run_id(replace(BASE, {"train": {"init_seed": None}})) == run_id(BASE)
    with pytest.raises(ConfigError, match="dropout_seed"):
        TrainConfig(dropout_seed=-1)
    with pytest.raises(ConfigError, match="init_seed"):
        replace(BASE, {"train": {"init_seed": "one"}})
    with pytest.raises(ValueError, match="batch"):
        BASE.source_seed("batch")


def test_the_initial_model_of_a_stored_run_follows_its_init_seed(data) -> None:
    """Baselines rebuild a run's start (results.initial_model): with ``init_seed`` set it is
    the model ``start_model`` drew, not the run seed's."""
    from embcollapse.results import initial_model

    for config in (BASE, with_seeds(init=11), with_seeds(order=5)):
        record = {"config": to_dict(config), "field_dims": list(data.field_dims)}
        want = digest(train_module.start_model(config, data.field_dims).state_dict().values())
        assert digest(initial_model(record).state_dict().values()) == want
