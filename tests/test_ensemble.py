"""The ensemble control (issue 26): M single-embedding models trained side by side, their click
probabilities averaged."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig, to_dict
from embcollapse.data.loader import BatchLoader
from embcollapse.data.splits import Split
from embcollapse.identity import hash_identity, resolve
from embcollapse.models import build_model, count_parameters, model_from_config
from embcollapse.models.ensemble import Ensemble
from embcollapse.models.layers import FieldEmbedding
from embcollapse.train import make_optimizer, predict

DIMS = (7, 3, 12, 5)


def ids(rows: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, d, (rows,), generator=gen) for d in DIMS], 1)


def embedding_parameters(model: nn.Module) -> int:
    return sum(p.numel() for m in model.modules() if isinstance(m, FieldEmbedding)
               for p in m.parameters())


def test_members_are_drawn_one_after_another_from_the_seeded_generator() -> None:
    torch.manual_seed(5)
    ensemble = model_from_config(ModelConfig("dcnv2", embed_dim=4, ensemble=3), DIMS)
    torch.manual_seed(5)
    alone = [build_model("dcnv2", DIMS, 4) for _ in range(3)]
    assert isinstance(ensemble, Ensemble) and len(ensemble.members) == 3
    for member, single in zip(ensemble.members, alone):
        for (name, a), b in zip(member.state_dict().items(), single.state_dict().values()):
            assert torch.equal(a, b), name
    first, second = (m.embedding_tables()[0][0] for m in ensemble.members[:2])
    assert not torch.equal(first, second)          # distinct initial weights


@pytest.mark.parametrize("name", ["dcnv2", "dnn"])
def test_prediction_is_the_mean_of_the_members_probabilities(name: str) -> None:
    torch.manual_seed(0)
    alone = [build_model(name, DIMS, 4) for _ in range(3)]
    for model in alone:                             # members that disagree
        for p in model.parameters():
            p.data.add_(torch.randn_like(p) * 0.5)
    ensemble = Ensemble(copy.deepcopy(alone)).eval()
    x = ids(300)
    loader = BatchLoader(Split(x.numpy(), np.zeros(len(x))), 64)
    served = predict(ensemble, loader)
    with torch.no_grad():
        logits = torch.stack([m.eval()(x).double() for m in alone])
    mean_prob = torch.sigmoid(logits).mean(0).numpy()
    np.testing.assert_allclose(served, mean_prob, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ensemble.mean_probability(x).detach().numpy(), mean_prob,
                               rtol=1e-12, atol=1e-15)
    # not the geometric alternative (sigmoid of the mean logit)
    assert np.abs(served - torch.sigmoid(logits.mean(0)).numpy()).max() > 1e-4


@pytest.mark.parametrize("name", ["dcnv2", "dnn"])
def test_embedding_parameters_equal_multi_embeddings_and_the_total_is_m_single_models(
        name: str) -> None:
    m, k = 4, 5
    ensemble = model_from_config(ModelConfig(name, embed_dim=k, ensemble=m), DIMS)
    me = build_model(name, DIMS, k, num_sets=m)
    single = build_model(name, DIMS, k)
    assert embedding_parameters(ensemble) == embedding_parameters(me) == m * sum(DIMS) * k
    assert count_parameters(ensemble) == m * count_parameters(single)
    # ME shares the MLP above the projection: the ensemble has more dense parameters
    assert count_parameters(ensemble) > count_parameters(me)
    tables = ensemble.embedding_tables()
    assert len(tables) == m and [t.shape for t in tables[0]] == [(d, k) for d in DIMS]


def test_a_training_step_gives_each_member_the_gradient_and_update_it_gets_alone() -> None:
    torch.manual_seed(1)
    ensemble = model_from_config(ModelConfig("dcnv2", embed_dim=4, ensemble=3), DIMS).train()
    alone = [copy.deepcopy(m) for m in ensemble.members]
    x, y = ids(128, 2), torch.randint(0, 2, (128,), generator=torch.Generator().manual_seed(3))
    y, loss_fn = y.float(), nn.BCEWithLogitsLoss()

    opt = make_optimizer(ensemble, 1e-2, 1e-6)
    torch.manual_seed(9)                       # dropout masks: the members in order
    ensemble.training_loss(x, y, loss_fn).backward()
    torch.manual_seed(9)
    singles = [make_optimizer(m, 1e-2, 1e-6) for m in alone]
    for model in alone:
        loss_fn(model(x), y).backward()
    for member, model in zip(ensemble.members, alone):
        for (name, a), b in zip(member.named_parameters(), model.parameters()):
            torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0, msg=name)
    opt.step()
    for o in singles:
        o.step()
    for member, model in zip(ensemble.members, alone):
        for (name, a), b in zip(member.named_parameters(), model.parameters()):
            torch.testing.assert_close(a, b, msg=name)


def test_the_ensemble_setting_is_out_of_the_run_id_at_its_default_and_in_it_otherwise() -> None:
    base = RunConfig(model=ModelConfig("dcnv2", embed_dim=10))
    assert "ensemble" not in to_dict(base.model)
    assert to_dict(resolve(base))["model"].keys() == {"name", "embed_dim", "num_sets", "hyper"}
    ens = RunConfig(model=ModelConfig("dcnv2", embed_dim=10, ensemble=4))
    assert to_dict(resolve(ens))["model"]["ensemble"] == 4
    ids_ = {hash_identity(to_dict(resolve(c)), "fp", 2) for c in
            (base, ens, RunConfig(model=ModelConfig("dcnv2", embed_dim=10, ensemble=4)),
             RunConfig(model=ModelConfig("dcnv2", embed_dim=10, ensemble=2)))}
    assert len(ids_) == 3
    with pytest.raises(Exception, match="ensemble"):
        ModelConfig("dcnv2", ensemble=0)


def test_an_ensemble_run_trains_and_stores_its_members_side_by_side(tmp_path) -> None:
    from embcollapse.analysis import side_by_side_ia
    from embcollapse.analysis.diversity import field_diversity
    from embcollapse.baselines import ensemble_members_baseline, initial_tables
    from embcollapse.results import ResultsStore
    from embcollapse.train import fit

    config = RunConfig(data=DataConfig(preset="tiny", rows=3000),
                       model=ModelConfig("dnn", embed_dim=4, ensemble=2, hyper={"mlp_dims": [16]}),
                       train=TrainConfig(batch_size=512, max_epochs=1), seed=0)
    result = fit(config, device="cpu", progress=False)
    record = result.record
    model = model_from_config(config.model, record["field_dims"])
    model.load_state_dict(result.state_dict)
    tables = model.embedding_tables()
    assert len(record["singular_values"]) == 2 == len(record["field_ia"])
    np.testing.assert_allclose(record["field_ia_concat"], side_by_side_ia(tables), rtol=1e-9)
    assert record["config"]["model"]["ensemble"] == 2
    store = ResultsStore(tmp_path)
    store.save(record, result.state_dict, result.test_labels, result.test_scores)
    np.testing.assert_allclose(store.load_test_predictions(record)[1], result.test_scores)
    trained = ensemble_members_baseline([record], store, min_rows=4)[0]
    start = ensemble_members_baseline([record], store, min_rows=4, initial=True)[0]
    np.testing.assert_allclose(trained.diversity, field_diversity(
        [[t.numpy() for t in row] for row in tables], min_rows=4), rtol=1e-9)
    np.testing.assert_allclose(start.field_ia, side_by_side_ia(initial_tables(record)))
    assert not np.allclose(start.field_ia, trained.field_ia)    # training moved the tables


def test_the_members_baseline_measures_the_members_exactly_as_me_measures_its_sets() -> None:
    """Copy an ensemble's member tables into an ME model's sets: the baseline's per-field IA
    and Figure 10a diversity equal ME's computation on those sets, and differ from SE's."""
    from embcollapse.analysis import side_by_side_ia
    from embcollapse.analysis.diversity import field_diversity
    from embcollapse.baselines import ensemble_members_baseline

    dims = (30, 4, 25)
    torch.manual_seed(0)
    config = ModelConfig("dcnv2", embed_dim=3, ensemble=3)
    ensemble = model_from_config(config, dims)
    me = build_model("dcnv2", dims, 3, num_sets=3)
    me.embedding.embedding.weight.data = torch.cat(
        [m.embedding.embedding.weight.data for m in ensemble.members], 1)

    class Store:
        def load_model(self, record):
            return ensemble

    record = {"run_id": "abc", "config": {"seed": 4, "model": to_dict(config)},
              "field_ia_concat": side_by_side_ia(ensemble.embedding_tables()).tolist(),
              "field_dims": list(dims)}
    found = ensemble_members_baseline([record], Store())[4]
    me_sets = [[t.numpy() for t in row] for row in me.embedding_tables()]
    np.testing.assert_allclose(found.field_ia, side_by_side_ia(me_sets), rtol=1e-9)
    np.testing.assert_allclose(found.diversity, field_diversity(me_sets, min_rows=10),
                               rtol=1e-9)
    assert found.diversity.shape == (2,) and found.run_id == "abc"
    with pytest.raises(ValueError, match="not an ensemble"):
        ensemble_members_baseline([{**record, "config": {"seed": 0, "model": {}}}], Store())


def _diff(value: float, half: float = 1e-9, seeds: int = 3):
    from embcollapse.intervals import Difference

    return Difference(value, half / 2, value - half, value + half, method="seeds", n=seeds,
                      seeds=seeds)


def test_the_ensemble_finding_reads_each_outcome_and_checks_me_above_the_ensemble() -> None:
    from embcollapse.findings import ensemble

    more = ensemble.ensemble_control({"dcnv2": _diff(0.003)}, {"dcnv2": _diff(0.001 / 2)}, 4)
    assert more.status == "reproduced" and more.key == ensemble.KEY
    assert more.values["readings"]["dcnv2"].startswith("more than an ensemble")
    # ME equivalent to the ensemble (interval holding 0, within the margin): the direction
    # check cannot say ME beats it, and the reading is "the gain is ensembling"
    just = ensemble.ensemble_control({"dnn": _diff(0.0002, half=0.0005)}, {"dnn": _diff(0.004)}, 4)
    assert just.status == "not resolved"
    assert just.values["readings"]["dnn"].startswith("the gain is ensembling")
    assert ensemble.ensemble_control({"dnn": _diff(-0.0002)}, {"dnn": _diff(0.004)},
                                     4).status == "differs"
    worse = ensemble.ensemble_control({"dnn": _diff(-0.003)}, {"dnn": _diff(0.004)}, 4)
    assert worse.values["readings"]["dnn"].startswith("the ensemble beats ME")
    wide = ensemble.ensemble_control({"dnn": _diff(0.0005, half=0.002)}, {"dnn": _diff(0.0)}, 4)
    assert wide.status == "not resolved" and wide.values["readings"]["dnn"] == ensemble.UNRESOLVED
    assert ensemble.ensemble_control({}, {}, 4).status == "not run"
    from embcollapse.claims import BEYOND_PAPER, ITEMS
    assert ITEMS[ensemble.KEY].chapter == "05_multi_embedding" and ensemble.KEY in BEYOND_PAPER
    assert set(BEYOND_PAPER) <= set(ITEMS)
