"""Training: models learn, stay under the teacher's ceiling, and are reproducible."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from embcollapse.data import load_dataset
from embcollapse.data.loader import BatchLoader
from embcollapse.models import build_model
from embcollapse.metrics import auc, logloss
from embcollapse.train import base_rate_logloss, fit

DATA = DataConfig(preset="tiny", rows=40_000)
TRAIN = TrainConfig(batch_size=512, max_epochs=3, patience=2)


def config(name: str, k: int = 8, seed: int = 0) -> RunConfig:
    return RunConfig(data=DATA, model=ModelConfig(name=name, embed_dim=k), train=TRAIN, seed=seed)


@pytest.fixture(scope="module")
def data():
    return load_dataset(DATA)


@pytest.mark.parametrize("name", ["dcnv2", "dnn"])
def test_learns_beyond_trivial_and_below_teacher(name: str, data) -> None:
    result = fit(config(name), data, device="cpu", progress=False)
    rec = result.record
    assert rec["test"]["auc"] > 0.6
    assert rec["test"]["logloss"] < base_rate_logloss(data.train, data.test) - 0.005
    assert rec["test"]["auc"] < rec["teacher_test_auc"] + 0.01
    assert 1 <= rec["best_epoch"] <= len(rec["history"]) <= TRAIN.max_epochs
    # per-field IA and singular values of the best checkpoint are recorded for every field
    assert len(rec["field_ia"]) == 1 and len(rec["field_ia"][0]) == len(data.field_dims)
    assert all(1.0 <= ia <= min(d, 8) + 1e-6 for ia, d in zip(rec["field_ia"][0], data.field_dims))
    assert [len(s) for s in rec["singular_values"][0]] == [min(d, 8) for d in data.field_dims]
    # the returned weights are the best epoch's: evaluating them reproduces the test AUC
    model = build_model(name, data.field_dims, embed_dim=8)
    model.load_state_dict(result.state_dict)
    model.eval()
    with torch.no_grad():
        probs = torch.sigmoid(model(torch.from_numpy(data.test.ids).long())).numpy()
    assert auc(data.test.labels, probs) == pytest.approx(rec["test"]["auc"], abs=1e-6)


def test_same_seed_same_result_other_seed_differs(data) -> None:
    cfg = RunConfig(data=DATA, model=ModelConfig(name="dnn", embed_dim=4),
                    train=TrainConfig(batch_size=1024, max_epochs=1), seed=3)
    a = fit(cfg, data, device="cpu", progress=False).record
    b = fit(cfg, data, device="cpu", progress=False).record
    c = fit(RunConfig(data=DATA, model=cfg.model, train=cfg.train, seed=4), data,
            device="cpu", progress=False).record
    assert a["test"] == b["test"] and a["field_ia"] == b["field_ia"]
    assert a["test"]["auc"] != c["test"]["auc"]


@pytest.mark.parametrize("name", ["dcnv2", "dnn"])
@pytest.mark.parametrize("num_sets", [1, 3])
def test_output_shape_and_gradients_reach_every_embedding(name: str, num_sets: int) -> None:
    dims = (3, 5, 7, 11)
    model = build_model(name, dims, embed_dim=4, num_sets=num_sets, mlp_dims=(16, 8))
    ids = torch.stack([torch.arange(32) % d for d in dims], dim=1)
    out = model(ids)
    assert out.shape == (32,) and torch.isfinite(out).all()
    out.sum().backward()
    grad = model.embedding.embedding.weight.grad
    assert grad is not None
    # every value of every field appears in the batch, so every row of the table gets gradient
    assert (grad.abs().sum(dim=1) > 0).all()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname
    tables = model.embedding_tables()
    assert len(tables) == num_sets and [t.shape for t in tables[0]] == [(d, 4) for d in dims]


def test_loader_covers_every_row_once_per_epoch(data) -> None:
    loader = BatchLoader(data.valid, batch_size=333, shuffle=True, seed=1)
    seen = torch.cat([ids[:, -1] * 0 + torch.arange(len(ids)) for ids, _ in loader.epoch(0)])
    assert len(seen) == len(data.valid)
    labels = torch.cat([y for _, y in loader.epoch(0)])
    assert labels.sum().item() == pytest.approx(float(data.valid.labels.sum()))
    first = next(iter(loader.epoch(0)))[0]
    assert not torch.equal(first, next(iter(loader.epoch(1)))[0])


def test_metrics_helpers() -> None:
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert np.isnan(auc(np.array([1, 1]), np.array([0.3, 0.4])))
    assert logloss(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(np.log(2))


def test_embed_init_rows_draws_tables_with_that_vocabularys_bound() -> None:
    """The knob redraws only the embedding tables, within +-sqrt(6 / (rows + K)); every other
    weight keeps the draw it has without the knob; the rebuilt start is the same."""
    import math

    from embcollapse.results import initial_model
    from embcollapse.train import build_run_model, seed_everything

    model, dims = ModelConfig(name="dcnv2", embed_dim=8, num_sets=2), [30, 50, 7]
    seed_everything(3)
    own = build_run_model(model, TrainConfig(), dims)
    seed_everything(3)
    wide = build_run_model(model, TrainConfig(embed_init_rows=1_000_000), dims)
    bound = math.sqrt(6 / (1_000_000 + 8))
    w = wide.embedding.embedding.weight
    assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    assert own.embedding.embedding.weight.abs().max() > 10 * bound    # own bound ~0.3
    others = [k for k in own.state_dict() if not k.startswith("embedding.")]
    assert others and all(torch.equal(own.state_dict()[k], wide.state_dict()[k]) for k in others)
    record = {"config": {"seed": 3, "model": {"name": "dcnv2", "embed_dim": 8, "num_sets": 2,
                                              "hyper": {}},
                         "train": {"embed_init_rows": 1_000_000}}, "field_dims": dims}
    assert torch.equal(initial_model(record).embedding.embedding.weight, w)
    record["config"]["train"] = {}
    assert torch.equal(initial_model(record).embedding.embedding.weight,
                       own.embedding.embedding.weight)


def test_embed_init_rows_is_checked_and_changes_the_run_id_only_when_set() -> None:
    from embcollapse.config import ConfigError
    from embcollapse.identity import hash_identity
    from embcollapse.config import to_dict

    with pytest.raises(ConfigError, match="embed_init_rows"):
        TrainConfig(embed_init_rows=-1)
    config = to_dict(RunConfig(train=TrainConfig()))
    without = {**config, "train": {k: v for k, v in config["train"].items()
                                   if k != "embed_init_rows"}}
    assert hash_identity(config, "f", 2) == hash_identity(without, "f", 2)   # old ids kept
    changed = {**config, "train": {**config["train"], "embed_init_rows": 5}}
    assert hash_identity(changed, "f", 2) != hash_identity(config, "f", 2)
