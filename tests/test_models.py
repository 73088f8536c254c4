"""Model zoo: shapes, gradients, learning, batched == loop, Appendix E, regularisers, layers
against brute force, registry and sizes. Tiny field dims, small widths: the file runs in seconds."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from embcollapse.config import ConfigError, DataConfig, ModelConfig
from embcollapse.data import synthetic
from embcollapse.models import (MODELS, PAPER_MODELS, DCNv2, LoopReference, build_model,
                                count_parameters, hyper_parameters, linear_me_as_single,
                                model_from_config, parameter_table, size_preset)
from embcollapse.models.layers import (CIN, FieldAwarePairs, InnerProducts, PairPooling,
                                       SelfAttentionStack, SetBatchNorm, field_blocks)
from embcollapse.metrics import auc

DIMS = (3, 5, 7, 11)
K = 4

# small widths per architecture so that every test stays fast
SMALL: dict[str, dict] = {
    "dnn": {"mlp_dims": (16, 8)},
    "ipnn": {"mlp_dims": (16, 8)},
    "nfwfm": {"mlp_dims": (16, 8)},
    "xdeepfm": {"mlp_dims": (16, 8), "cin_layers": (4, 4)},
    "dcnv2": {"mlp_dims": (16, 8), "cross_layers": 2},
    "finalmlp": {"mlp_dims": (16, 8)},
    "finalmlp-gated": {"mlp_dims": (16, 8), "feature_selection_hidden": 6},
    "autoint": {"attention_layers": 2, "heads": 2, "head_dim": 3, "mlp_dims": (8,)},
}


pytestmark = pytest.mark.usefixtures("one_thread")


def small(name: str, dropout: float | None = None) -> dict:
    """Small hyper-parameters for a registered model (variants share their base's)."""
    hyper = dict(SMALL.get(name, SMALL.get(name.split("-")[0], {})))
    if dropout is not None and "dropout" in hyper_parameters(name):
        hyper["dropout"] = dropout
    return hyper


def make(name: str, num_sets: int, embed_dim: int = K, dims=DIMS, dropout: float | None = None,
         **extra) -> nn.Module:
    return build_model(name, dims, embed_dim=embed_dim, num_sets=num_sets,
                       **{**small(name, dropout), **extra})


def ids(batch: int, dims=DIMS, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in dims], dim=1)


# --------------------------------------------------------------------------- every model

@pytest.mark.parametrize("num_sets", [1, 3])
@pytest.mark.parametrize("name", list(MODELS))
def test_forward_shape_and_every_parameter_gets_gradient(name: str, num_sets: int) -> None:
    torch.manual_seed(0)
    model = make(name, num_sets)
    x = ids(64)
    out = model(x)
    assert out.shape == (64,)
    assert torch.isfinite(out).all()
    labels = torch.randint(0, 2, (64,), generator=torch.Generator().manual_seed(1)).float()
    # one step first: FinalMLP's gate context starts at zero, so its first layer's gradient is
    # zero until the context has moved (as in the FinalMLP paper's code)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), labels)
        (loss + model.regularization()).backward()
        opt.step()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert dead == []
    tables = model.embedding_tables()
    assert len(tables) == num_sets and len(tables[0]) == len(DIMS)
    assert [t.shape[0] for t in tables[-1]] == list(DIMS)


@pytest.fixture(scope="module")
def tiny_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, ...]]:
    rows, labels, _ = synthetic.generate(DataConfig(preset="tiny", rows=6000, seed=3))
    x, y = torch.from_numpy(rows.astype(np.int64)), torch.from_numpy(labels)
    return x[:5000], y[:5000], x[5000:], y[5000:], synthetic.PRESETS["tiny"]


@pytest.mark.parametrize("num_sets", [1, 3])
@pytest.mark.parametrize("name", list(MODELS))
def test_learns_beyond_a_constant(name: str, num_sets: int, tiny_data) -> None:
    x_train, y_train, x_test, y_test, dims = tiny_data
    torch.manual_seed(0)
    model = make(name, num_sets, embed_dim=8, dims=dims)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        model.train()
        for batch in torch.randperm(len(y_train), generator=gen).split(250):
            opt.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch]) + model.regularization()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        score = model(x_test)
    assert auc(y_test.numpy(), score.numpy()) > 0.57     # teacher: 0.77


# ------------------------------------------------------------------ batched == loop reference

@pytest.mark.parametrize("name", list(MODELS))
def test_batched_equals_loop_reference(name: str) -> None:
    torch.manual_seed(0)
    model = make(name, 3, dropout=0.0).double()
    reference = LoopReference(model)
    x = ids(48)
    out, ref_out = model(x), reference(x)                   # training mode: batch statistics
    assert torch.allclose(out, ref_out, rtol=0, atol=1e-10)
    weight = torch.randn(48, dtype=torch.float64)
    (out * weight).sum().backward()
    (ref_out * weight).sum().backward()
    grads = reference.batched_gradients()
    assert {id(p) for p, _ in grads} == {id(p) for p in model.parameters()}
    for param, grad in grads:
        assert torch.allclose(param.grad, grad, rtol=0, atol=1e-10)
    model.eval()
    reference.eval()                                         # running statistics were updated
    assert torch.allclose(model(x), reference(x), rtol=0, atol=1e-10)


def test_loop_reference_notices_a_changed_set() -> None:
    torch.manual_seed(0)
    model = make("dcnv2", 3, dropout=0.0).double().eval()
    reference = LoopReference(model).eval()
    x = ids(16)
    with torch.no_grad():
        model.cross.weight[0, 2] += 0.1                      # only set 2 changes
    assert not torch.allclose(model(x), reference(x))
    reference.load_from_batched()
    assert torch.allclose(model(x), reference(x), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ Appendix E

@pytest.mark.parametrize("name", ["dnn-linear", "dcnv2-linear"])
def test_linear_multi_embedding_is_single_embedding(name: str) -> None:
    torch.manual_seed(0)
    me = make(name, 3, dropout=0.0).double()
    se = linear_me_as_single(me)
    # a freshly built registry SE model of size 3K holds exactly these weights
    fresh = make(name, 1, embed_dim=3 * K, dropout=0.0).double()
    fresh.load_state_dict(se.state_dict())
    for i, table in enumerate(fresh.embedding_tables()[0]):
        assert torch.equal(table, torch.cat([me.embedding_tables()[m][i] for m in range(3)], 1))
    x = ids(64)
    for mode in (True, False):
        me.train(mode)
        fresh.train(mode)
        assert torch.allclose(me(x), fresh(x), rtol=0, atol=1e-10)


def test_nonlinear_projection_has_no_single_embedding_equivalent() -> None:
    with pytest.raises(ValueError, match="linear"):
        linear_me_as_single(make("dcnv2", 3))


# ---------------------------------------------------------------------------- regularisers

def _signed_permutation_blocks(layers: int, sets: int, n: int, k: int) -> torch.Tensor:
    """Cross weights (L, S, N*K, N*K) whose every K-by-K block is a signed permutation."""
    gen = torch.Generator().manual_seed(0)
    w = torch.zeros(layers, sets, n * k, n * k, dtype=torch.float64)
    for layer, s, j, i in itertools.product(range(layers), range(sets), range(n), range(n)):
        perm = torch.randperm(k, generator=gen)
        signs = torch.randint(0, 2, (k,), generator=gen) * 2.0 - 1.0
        w[layer, s, j * k:(j + 1) * k, i * k:(i + 1) * k] = torch.eye(k)[perm] * signs[:, None]
    return w


@pytest.mark.parametrize("num_sets", [1, 3])
def test_orthogonality_penalty_zero_exactly_on_orthogonal_blocks(num_sets: int) -> None:
    model = make("dcnv2-reg", num_sets).double()
    cross = model.cross
    assert model.regularization() > 0                        # random initialisation
    brute = sum(((torch.eye(K) - q @ q.T) ** 2).sum()
                for q in field_blocks(cross.weight.detach(), len(DIMS)).reshape(-1, K, K))
    assert torch.allclose(model.regularization(), 1e-5 * brute)
    with torch.no_grad():
        cross.weight.copy_(_signed_permutation_blocks(*cross.weight.shape[:2], len(DIMS), K))
        cross.scale.uniform_(0.5, 2.0)                       # lambda does not enter the penalty
    assert model.regularization().item() == 0.0
    # cross blocks are lambda_ji * Q_ji
    blocks = model.cross_blocks(layer=1, embed_set=num_sets - 1)
    q = field_blocks(cross.weight[1, num_sets - 1].detach(), len(DIMS))
    lam = cross.scale[1, num_sets - 1].detach()
    assert torch.allclose(blocks, lam[:, :, None, None] * q)
    with torch.no_grad():                                    # random orthogonal blocks (QR)
        for layer, s, j, i in itertools.product(range(2), range(num_sets), range(4), range(4)):
            cross.weight[layer, s, j * K:(j + 1) * K, i * K:(i + 1) * K] = torch.linalg.qr(
                torch.randn(K, K, dtype=torch.float64))[0]
    assert 0 <= model.regularization().item() < 1e-20


def test_agreement_penalty() -> None:
    model = make("dcnv2-agree", 3).double()
    penalty = model.regularization()
    norms = field_blocks(model.cross.weight.detach(), len(DIMS)).square().sum((-1, -2))
    brute = np.mean([np.var(norms[layer, :, j, i].numpy())
                     for layer in range(2) for j in range(4) for i in range(4)])
    assert penalty.item() == pytest.approx(brute, rel=1e-12) and penalty > 0
    with torch.no_grad():
        model.cross.weight[:, 1:] = model.cross.weight[:, :1]
    assert model.regularization().item() == 0.0
    assert make("dcnv2-agree", 1).regularization().item() == 0.0
    assert make("dcnv2-shared", 3).regularization().item() == 0.0


def test_models_without_penalty_return_zero() -> None:
    for name in ("dcnv2", "dnn", "ffm", "autoint"):
        assert make(name, 3).regularization().item() == 0.0


def test_shared_interaction_has_one_cross_network() -> None:
    shared, separate = make("dcnv2-shared", 3), make("dcnv2", 3)
    assert shared.cross.weight.shape[1] == 1 and separate.cross.weight.shape[1] == 3
    assert torch.equal(shared.cross_blocks(0, 0), shared.cross_blocks(0, 2))


# ----------------------------------------------------------------- layers vs brute force

def test_inner_products_brute_force() -> None:
    e = torch.randn(2, 3, 4, K, dtype=torch.float64)         # (M, B, N, K)
    out = InnerProducts(4, with_embeddings=True)(e)
    for m, b in itertools.product(range(2), range(3)):
        pairs = [float(e[m, b, i] @ e[m, b, j]) for i in range(4) for j in range(i + 1, 4)]
        assert torch.allclose(out[m, b, :4 * K], e[m, b].reshape(-1))
        assert torch.allclose(out[m, b, 4 * K:], torch.tensor(pairs, dtype=torch.float64))


@pytest.mark.parametrize("weighted", [False, True])
def test_pair_pooling_brute_force(weighted: bool) -> None:
    torch.manual_seed(0)
    layer = PairPooling(2, 4, weighted=weighted).double()
    if weighted:
        with torch.no_grad():
            layer.pair_weight.normal_()
    e = torch.randn(2, 3, 4, K, dtype=torch.float64)
    out = layer(e)
    for m, b in itertools.product(range(2), range(3)):
        expected = torch.zeros(K, dtype=torch.float64)
        for p, (i, j) in enumerate((i, j) for i in range(4) for j in range(i + 1, 4)):
            r = layer.pair_weight[m, p] if weighted else 1.0
            expected += r * e[m, b, i] * e[m, b, j]
        assert torch.allclose(out[m, b], expected)


def test_fwfm_model_brute_force() -> None:
    torch.manual_seed(0)
    model = make("fwfm", 1).double().eval()
    pooling = model.branches["pairs"][0]
    with torch.no_grad():
        pooling.pair_weight.normal_()
        model.linear.weight.weight.normal_()
        model.linear.bias.fill_(0.3)
    x = ids(5)
    tables = model.embedding_tables()[0]
    first = [model.linear.weight.weight[sum(DIMS[:i]):sum(DIMS[:i + 1]), 0] for i in range(4)]
    for b in range(5):
        logit = 0.3 + sum(first[i][x[b, i]] for i in range(4))
        for p, (i, j) in enumerate((i, j) for i in range(4) for j in range(i + 1, 4)):
            logit += pooling.pair_weight[0, p] * tables[i][x[b, i]] @ tables[j][x[b, j]]
        assert torch.allclose(model(x)[b], logit)


def test_ffm_brute_force_and_field_pair_tables() -> None:
    torch.manual_seed(0)
    model = make("ffm", 2, linear=False).double().eval()
    x = ids(5)
    for m in range(2):
        pair = model.field_pair_tables(embed_set=m)
        assert pair[1][1] is None and pair[2][0].shape == (DIMS[2], K)
        # the concatenated table holds the sub-tables in partner order
        assert torch.equal(model.embedding_tables()[m][2],
                           torch.cat([pair[2][j] for j in (0, 1, 3)], dim=1))
    for b in range(5):
        logit = 0.0
        for m in range(2):
            pair = model.field_pair_tables(embed_set=m)
            for i, j in ((i, j) for i in range(4) for j in range(i + 1, 4)):
                logit += pair[i][j][x[b, i]] @ pair[j][i][x[b, j]] / 2
        assert torch.allclose(model(x)[b], logit)
    # the layer on its own: distinct sub-tables really are distinct slots
    e = torch.randn(1, 2, 3, 2 * K, dtype=torch.float64)
    out = FieldAwarePairs(3, K)(e)
    sub = e.view(1, 2, 3, 2, K)
    expected = (sub[:, :, 0, 0] * sub[:, :, 1, 0] + sub[:, :, 0, 1] * sub[:, :, 2, 0]
                + sub[:, :, 1, 1] * sub[:, :, 2, 1]).sum(-1, keepdim=True)
    assert torch.allclose(out, expected)


def test_cin_brute_force() -> None:
    torch.manual_seed(0)
    n, sizes = 3, (2, 3)
    layer = CIN(2, n, sizes).double()
    e = torch.randn(2, 2, n, K, dtype=torch.float64)
    out = layer(e)
    for m, b in itertools.product(range(2), range(2)):
        x0, prev, pooled = e[m, b], e[m, b], []
        for weight, bias in zip(layer.weights, layer.biases):
            w = weight[m].view(weight.shape[1], n, -1)          # (H_l, N, H_{l-1})
            maps = torch.stack([torch.relu(bias[m, h] + sum(
                w[h, i, g] * x0[i] * prev[g] for i in range(n) for g in range(prev.shape[0])))
                for h in range(w.shape[0])])
            pooled.append(maps.sum(dim=1))
            prev = maps
        assert torch.allclose(out[m, b], torch.cat(pooled))


def test_cross_layer_brute_force_and_blocks() -> None:
    torch.manual_seed(0)
    model = make("dcnv2", 2, cross_layers=1).double()
    with torch.no_grad():
        model.cross.bias.normal_()
    n = len(DIMS)
    e = torch.randn(2, 3, n * K, dtype=torch.float64)
    out = model.cross(e)
    for m in range(2):
        w, bias = model.cross.weight[0, m], model.cross.bias[0, m]
        blocks = model.cross_blocks(layer=0, embed_set=m)
        for j, i in itertools.product(range(n), range(n)):
            assert torch.equal(blocks[j, i], w[j * K:(j + 1) * K, i * K:(i + 1) * K])
        for b in range(3):
            fields = e[m, b].view(n, K)
            for j in range(n):
                mixed = sum(blocks[j, i] @ fields[i] for i in range(n)) + bias[j * K:(j + 1) * K]
                assert torch.allclose(out[m, b].view(n, K)[j], fields[j] * mixed + fields[j])
        sub = model.field_pair_tables(embed_set=m)
        table = model.embedding_tables()[m][1]
        assert torch.allclose(sub[1][3], table @ blocks[3, 1].T)


def test_self_attention_brute_force() -> None:
    torch.manual_seed(0)
    heads, d = 2, 3
    layer = SelfAttentionStack(2, K, 1, heads, d).double()
    e = torch.randn(2, 2, 4, K, dtype=torch.float64)
    out = layer(e)
    w = {name: lin.weight for name, lin in layer.layers[0].items()}
    for m, b in itertools.product(range(2), range(2)):
        x = e[m, b]
        for i in range(4):
            parts = []
            for h in range(heads):
                rows = slice(h * d, (h + 1) * d)
                q = w["query"][m, rows] @ x[i]
                scores = torch.stack([q @ (w["key"][m, rows] @ x[j]) for j in range(4)])
                alpha = torch.exp(scores) / torch.exp(scores).sum()
                parts.append(sum(alpha[j] * (w["value"][m, rows] @ x[j]) for j in range(4)))
            expected = torch.relu(torch.cat(parts) + w["residual"][m] @ x[i])
            assert torch.allclose(out[m, b, i], expected)


def test_set_batch_norm_is_one_batch_norm_per_set() -> None:
    torch.manual_seed(0)
    layer = SetBatchNorm(3, 5).double()
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    x = torch.randn(3, 16, 5, dtype=torch.float64) * torch.arange(1, 4)[:, None, None]
    out = layer(x)
    for m in range(3):
        norm = nn.BatchNorm1d(5).double()
        with torch.no_grad():
            norm.weight.copy_(layer.weight[m * 5:(m + 1) * 5])
            norm.bias.copy_(layer.bias[m * 5:(m + 1) * 5])
        assert torch.allclose(out[m], norm(x[m]))


# ------------------------------------------------------------------------ registry, sizes

def test_unknown_hyper_parameter_and_model_are_named() -> None:
    with pytest.raises(ConfigError, match="cros_layers"):
        build_model("dcnv2", DIMS, cros_layers=3)
    with pytest.raises(ConfigError, match="nosuchmodel"):
        build_model("nosuchmodel", DIMS)
    with pytest.raises(ConfigError, match="projection"):
        build_model("dnn", DIMS, projection="quadratic")


def test_registry_defaults_are_the_papers() -> None:
    assert hyper_parameters("dcnv2")["cross_layers"] == 4
    assert hyper_parameters("dcnv2")["mlp_dims"] == (400, 400)
    assert hyper_parameters("dcnv2-reg")["orthogonal_weight"] == 1e-5
    assert hyper_parameters("xdeepfm")["cin_layers"] == (16, 16)
    assert hyper_parameters("finalmlp")["feature_selection_hidden"] == 0      # authors' code
    assert hyper_parameters("finalmlp-gated")["feature_selection_hidden"] == 800
    assert hyper_parameters("ipnn")["product_only"] is None                  # SE: no, ME: yes
    assert hyper_parameters("nfwfm")["pairs"] == "all"
    assert hyper_parameters("autoint")["interaction"] == "authors"
    assert hyper_parameters("dcnv2-shared")["share_projection"] is True
    assert hyper_parameters("dcnv2-shared-cross")["share_projection"] is False
    assert build_model("nfwfm", DIMS).embed_dim == 50
    assert build_model("dcnv2", DIMS).embed_dim == 10
    assert isinstance(build_model("dcnv2-shared", DIMS, num_sets=2), DCNv2)


def test_size_presets() -> None:
    assert size_preset("dcnv2", "10x", "SE") == (100, 1)
    assert size_preset("dcnv2", "10x", "ME") == (10, 10)
    assert size_preset("nfwfm", "2x", "SE") == (100, 1)
    assert size_preset("nfwfm", 3, "ME") == (50, 3)
    with pytest.raises(ConfigError):
        size_preset("dcnv2", "5x")
    with pytest.raises(ConfigError):
        size_preset("dcnv2", "2x", "XE")


def test_parameter_table_counts_real_models() -> None:
    table = parameter_table(DIMS, models=("dnn", "nfwfm"), scales=("1x", "2x"))
    assert len(table) == 2 * 3                               # SE 1x, SE 2x, ME 2x per model
    for row in table.itertuples():
        model = build_model(row.model, DIMS, embed_dim=row.embed_dim, num_sets=row.num_sets)
        assert row.parameters == count_parameters(model)
        assert row.embedding_parameters == sum(DIMS) * row.embed_dim * row.num_sets
    same = table[(table.scale == "2x") & (table.model == "dnn")]
    assert same.embedding_parameters.nunique() == 1          # SE and ME at equal embedding size


def test_paper_models_are_registered() -> None:
    assert set(PAPER_MODELS) <= set(MODELS)


def test_model_from_config_builds_variants() -> None:
    config = ModelConfig(name="dcnv2-shared", embed_dim=4, num_sets=2, hyper={"cross_layers": 1})
    model = model_from_config(config, DIMS)
    assert model.cross.weight.shape == (1, 1, len(DIMS) * 4, len(DIMS) * 4)
    assert model(ids(8)).shape == (8,)
