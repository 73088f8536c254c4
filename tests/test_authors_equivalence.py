"""Every registry default computes the authors' function (thuml/Multi-Embedding).

For each architecture, single and multi-embedding, the registry model's weights are copied into
the authors' class (restated in :mod:`embcollapse.models.authors`) through an explicit mapping
written below, parameter by parameter. On random weights and randomised BatchNorm statistics,
in float64, both must give the same logits in eval and train mode, the same gradient for every
parameter and the same BatchNorm statistics after a training step, to 1e-10. The mapping must
cover every parameter and buffer of both models, so a parameter one side has and the other
lacks fails the test. Tiny sizes: the file runs in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
import torch
from torch import nn

from embcollapse.models import build_model
from embcollapse.models.authors import authors_model

DIMS = (3, 5, 7, 11)
N = len(DIMS)
K = 4
TOL = 1e-10

pytestmark = pytest.mark.usefixtures("one_thread")


@dataclass(frozen=True)
class Link:
    """``ours[index]``, reshaped, is the authors' tensor ``ref``.

    ``replicated``: the same element of ours feeds several of theirs (a BatchNorm step counter:
    ours counts once for all sets, theirs once per set's BatchNorm).
    """

    ours: str
    index: Any
    ref: str
    replicated: bool = False


# ---------------------------------------------------------------------- mapping builders

def whole(ours: str, ref: str, names=("weight", "bias")) -> list[Link]:
    """A plain module of ours (Linear, BatchNorm, LayerNorm) is the authors' module."""
    return [Link(f"{ours}.{n}", (), f"{ref}.{n}") for n in names]


BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def set_linear(ours: str, m: int, ref: str) -> list[Link]:
    """Set m of a SetLinear (weight (S, out, in), bias (S, out)) is an nn.Linear."""
    return [Link(f"{ours}.weight", m, f"{ref}.weight"), Link(f"{ours}.bias", m, f"{ref}.bias")]


def set_batch_norm(ours: str, m: int, width: int, ref: str) -> list[Link]:
    """Channels m*H:(m+1)*H of a SetBatchNorm are set m's BatchNorm1d(H)."""
    part = slice(m * width, (m + 1) * width)
    links = [Link(f"{ours}.{n}", part, f"{ref}.{n}") for n in BN[:4]]
    return links + [Link(f"{ours}.num_batches_tracked", (), f"{ref}.num_batches_tracked", True)]


def embeddings(num_sets: int, me_ref: str = "embeddings.{m}.embedding.weight") -> list[Link]:
    """Columns m*K:(m+1)*K of our one table are the authors' table of set m (``me_ref``
    formatted with m; a single embedding's table is ``embedding.embedding.weight``)."""
    refs = (["embedding.embedding.weight"] if num_sets == 1
            else [me_ref.format(m=m) for m in range(num_sets)])
    return [Link("embedding.embedding.weight", (slice(None), slice(m * K, (m + 1) * K)), ref)
            for m, ref in enumerate(refs)]


def projection(ours: str, m: int, width: int, ref: str) -> list[Link]:
    """Our per-set projection (SetLinear, SetBatchNorm) is a first MLP layer (Linear, BN)."""
    return set_linear(f"{ours}.0", m, f"{ref}.0") + set_batch_norm(f"{ours}.1", m, width,
                                                                   f"{ref}.1")


def head(ours: str, hidden: int, ref: str, first: int = 0, output: str | None = None
         ) -> list[Link]:
    """Our head MLP (``net``: Linear, BN, ReLU, Dropout per hidden layer, then Linear) is the
    authors' ``mlp`` from its layer ``first`` on; ``output``: their separate output Linear."""
    links = []
    for i in range(hidden):
        links += whole(f"{ours}.net.{4 * i}", f"{ref}.{first + 4 * i}")
        links += whole(f"{ours}.net.{4 * i + 1}", f"{ref}.{first + 4 * i + 1}", BN)
    return links + whole(f"{ours}.net.{4 * hidden}", output or f"{ref}.{first + 4 * hidden}")


def deep(ours_proj: str, ours_head: str, num_sets: int, dims: tuple[int, ...],
         se_mlp: str, me_first: Callable[[int], str], me_post: str,
         se_output: str | None = None) -> list[Link]:
    """Projection + head of ours against the authors' SE ``mlp`` (one MLP for all layers) or
    their ME per-set first layers ``me_first(m)`` and ``me_post``."""
    if num_sets == 1:
        return projection(ours_proj, 0, dims[0], se_mlp) + head(
            ours_head, len(dims) - 1, se_mlp, first=4, output=se_output)
    links = [link for m in range(num_sets)
             for link in projection(ours_proj, m, dims[0], me_first(m))]
    return links + head(ours_head, len(dims) - 1, me_post)


# ------------------------------------------------------------------- one mapping per model

def map_dcnv2(num_sets: int, hyper: dict) -> list[Link]:
    se = num_sets == 1
    links = embeddings(num_sets)
    for m in range(num_sets):
        cn = "cn" if se else f"cns.{m}.0"
        for layer in range(hyper["cross_layers"]):
            links += [Link("branches.cross.1.weight", (layer, m), f"{cn}.W.{layer}"),
                      Link("branches.cross.1.bias", (layer, m), f"{cn}.b.{layer}")]
    return links + deep("branches.cross.2", "head.cross", num_sets, hyper["mlp_dims"],
                        "mlp.mlp", lambda m: f"cns.{m}.1.mlp", "mlp.mlp", se_output="linear")


def map_dcnv2_shared(num_sets: int, hyper: dict) -> list[Link]:
    links = embeddings(num_sets)
    for layer in range(hyper["cross_layers"]):
        links += [Link("branches.cross.1.weight", (layer, 0), f"cn.0.W.{layer}"),
                  Link("branches.cross.1.bias", (layer, 0), f"cn.0.b.{layer}")]
    links += set_linear("branches.cross.2.0", 0, "cn.1.mlp.0")       # one projection ...
    links += whole("branches.cross.2.1", "cn.1.mlp.1", BN)           # ... one BatchNorm
    return links + head("head.cross", len(hyper["mlp_dims"]) - 1, "mlp.mlp")


def map_dnn(num_sets: int, hyper: dict) -> list[Link]:
    links = embeddings(num_sets, "embeddings.{m}.0.embedding.weight")
    return links + deep("branches.deep.1", "head.deep", num_sets, hyper["mlp_dims"], "mlp.mlp",
                        lambda m: f"embeddings.{m}.2.mlp", "mlp.mlp")


def map_ipnn(num_sets: int, hyper: dict) -> list[Link]:
    links = embeddings(num_sets)
    return links + deep("branches.product.1", "head.product", num_sets, hyper["mlp_dims"],
                        "mlp.mlp", lambda m: f"pns.{m}.1.mlp", "mlp.mlp")


def map_nfwfm(num_sets: int, hyper: dict) -> list[Link]:
    se = num_sets == 1
    links = embeddings(num_sets)
    for m in range(num_sets):
        fm = "fm" if se else f"fwfms.{m}"
        links += [Link("branches.fwfm.0.weight", m, f"{fm}.0.weight")]
        links += set_batch_norm("branches.fwfm.1", m, K, f"{fm}.1")
    return links + deep("branches.fwfm.3", "head.fwfm", num_sets, hyper["mlp_dims"], "mlp.mlp",
                        lambda m: f"fwfms.{m}.3.mlp", "mlp.mlp")


def map_xdeepfm(num_sets: int, hyper: dict) -> list[Link]:
    se = num_sets == 1
    links = embeddings(num_sets)
    for m in range(num_sets):
        cin = "cin" if se else f"cins.{m}"
        for layer in range(len(hyper["cin_layers"])):
            links += [Link(f"branches.cin.0.weights.{layer}", m,
                           f"{cin}.conv_layers.{layer}.weight"),
                      Link(f"branches.cin.0.biases.{layer}", m, f"{cin}.conv_layers.{layer}.bias")]
    links += whole("head.cin", "cin_post")
    return links + deep("branches.deep.1", "head.deep", num_sets, hyper["mlp_dims"], "mlp.mlp",
                        lambda m: f"mlps.{m}.mlp", "mlp_post.mlp")


def map_finalmlp(num_sets: int, hyper: dict) -> list[Link]:
    se = num_sets == 1
    dims = hyper["mlp_dims"]
    links = embeddings(num_sets)
    for m in range(num_sets):
        inter = "inter" if se else f"inters.{m}"
        for stream in (0, 1):
            for i, width in enumerate(dims):
                ours, ref = f"branches.stream{stream + 1}.1.{i}", f"{inter}.mlps.{stream}.1.mlp"
                links += set_linear(f"{ours}.0", m, f"{ref}.{4 * i}")
                links += set_batch_norm(f"{ours}.1", m, width, f"{ref}.{4 * i + 1}")
    links += [Link("head.w_xy", (), "fusion.w_xy")]
    return links + whole("head.w_x", "fusion.w_x") + whole("head.w_y", "fusion.w_y")


def map_autoint(num_sets: int, hyper: dict) -> list[Link]:
    se = num_sets == 1
    links = embeddings(num_sets)
    ours = "branches.attention.0"
    for m in range(num_sets):
        ref = "atten" if se else f"attens.{m}"
        links += set_linear(f"{ours}.embed", m, f"{ref}.atten_embedding")
        for layer in range(hyper["attention_layers"]):
            a, r = f"{ours}.layers.{layer}", f"{ref}.attens.{layer}"
            links += [Link(f"{a}.attention.in_weight", m, f"{r}.atten.in_proj_weight"),
                      Link(f"{a}.attention.in_bias", m, f"{r}.atten.in_proj_bias"),
                      Link(f"{a}.norm.weight", m, f"{r}.layer_norm.weight"),
                      Link(f"{a}.norm.bias", m, f"{r}.layer_norm.bias")]
            links += set_linear(f"{a}.attention.out", m, f"{r}.atten.out_proj")
    links += whole("head.attention", "atten_post")
    if not hyper["mlp_dims"]:
        return links
    return links + deep("branches.deep.1", "head.deep", num_sets, hyper["mlp_dims"], "mlp.mlp",
                        lambda m: f"mlps.{m}.mlp", "mlp_post.mlp")


MLP = {"mlp_dims": (6, 5)}
ATTENTION = {"attention_layers": 2, "heads": 2, "head_dim": 3, "attention_dropout": 0.0}
CASES: dict[str, tuple[str, dict, Callable[[int, dict], list[Link]]]] = {
    "dcnv2": ("dcnv2", {**MLP, "cross_layers": 2}, map_dcnv2),
    "dcnv2-shared": ("dcnv2-shared", {**MLP, "cross_layers": 2}, map_dcnv2_shared),
    "dnn": ("dnn", MLP, map_dnn),
    "ipnn": ("ipnn", MLP, map_ipnn),
    "nfwfm": ("nfwfm", MLP, map_nfwfm),
    "xdeepfm": ("xdeepfm", {**MLP, "cin_layers": (3, 2)}, map_xdeepfm),
    "finalmlp": ("finalmlp", MLP, map_finalmlp),
    "autoint": ("autoint", {**ATTENTION, "mlp_dims": ()}, map_autoint),
    "autoint+": ("autoint", {**ATTENTION, **MLP}, map_autoint),
}
SET_COUNTS = {name: ((3,) if name == "dcnv2-shared" else (1, 3)) for name in CASES}


# ------------------------------------------------------------------------------ the check

def tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and (persistent) buffer by name: the model's whole state."""
    return dict(model.state_dict(keep_vars=True))


def check_coverage(links: list[Link], ours: dict[str, torch.Tensor],
                   ref: dict[str, torch.Tensor]) -> None:
    """Each of the authors' tensors is linked once; each element of ours at least once, and a
    parameter's exactly once (so gradients map one to one); shapes agree."""
    ref_counts = {key: 0 for key in ref}
    ours_counts = {key: torch.zeros(t.shape, dtype=torch.long) for key, t in ours.items()}
    for link in links:
        assert link.ours in ours, f"no tensor {link.ours} in our model"
        assert link.ref in ref, f"no tensor {link.ref} in the authors' model"
        ref_counts[link.ref] += 1
        part = ours[link.ours][link.index]
        assert part.numel() == ref[link.ref].numel(), link
        ours_counts[link.ours][link.index] += 1
    assert [k for k, c in ref_counts.items() if c != 1] == [], "authors' tensors not linked once"
    unlinked = [k for k, c in ours_counts.items() if (c == 0).any()]
    assert unlinked == [], f"our tensors (partly) unmapped: {unlinked}"
    replicated = {link.ours for link in links if link.replicated}
    twice = [k for k, c in ours_counts.items() if (c > 1).any() and k not in replicated]
    assert twice == [], f"our tensors mapped twice: {twice}"
    assert not any(ours[k].requires_grad for k in replicated)


@torch.no_grad()
def randomise(model: nn.Module, gen: torch.Generator) -> None:
    """Random weights and BatchNorm statistics (not the initialisation, which hides bugs)."""
    for name, t in tensors(model).items():
        if name.endswith("running_var"):
            t.copy_(torch.rand(t.shape, generator=gen, dtype=t.dtype) * 1.5 + 0.5)
        elif name.endswith("num_batches_tracked"):
            t.fill_(int(torch.randint(0, 100, (), generator=gen)))
        else:
            t.copy_(torch.randn(t.shape, generator=gen, dtype=t.dtype) * 0.5)


@torch.no_grad()
def copy_into_reference(links: list[Link], ours: dict[str, torch.Tensor],
                        ref: dict[str, torch.Tensor]) -> None:
    for link in links:
        ref[link.ref].copy_(ours[link.ours][link.index].reshape(ref[link.ref].shape))


def max_difference(links: list[Link], ours: dict[str, torch.Tensor],
                   ref: dict[str, torch.Tensor], grad: bool) -> float:
    """Largest |ours - theirs| over every linked tensor (or its gradient)."""
    worst = 0.0
    for link in links:
        a, b = ours[link.ours], ref[link.ref]
        if grad:
            if not a.requires_grad:
                continue
            assert a.grad is not None and b.grad is not None, link
            a, b = a.grad, b.grad
        diff = (a[link.index].reshape(b.shape).double() - b.double()).abs().detach()
        worst = max(worst, float(diff.max()) if diff.numel() else 0.0)
    return worst


def compare(case: str, num_sets: int, seed: int = 0) -> dict[str, float]:
    """Build both models, link them, and return the largest differences measured."""
    name, hyper, mapping = CASES[case]
    torch.manual_seed(seed)
    results = {}
    for mode in ("eval", "train"):
        dropout = {"dropout": 0.2 if mode == "eval" else 0.0}
        ours = build_model(name, DIMS, embed_dim=K, num_sets=num_sets, **hyper, **dropout)
        ref = authors_model(name, DIMS, K, num_sets, **hyper, **dropout)
        ours, ref = ours.double(), ref.double()
        links = mapping(num_sets, hyper)
        ours_t, ref_t = tensors(ours), tensors(ref)
        check_coverage(links, ours_t, ref_t)
        randomise(ours, torch.Generator().manual_seed(seed + 1))
        copy_into_reference(links, ours_t, ref_t)
        ours.train(mode == "train")
        ref.train(mode == "train")
        x = torch.stack([torch.randint(0, d, (32,), generator=torch.Generator().manual_seed(i))
                         for i, d in enumerate(DIMS)], dim=1)
        out, ref_out = ours(x), ref(x)
        assert out.shape == ref_out.shape == (32,)
        results[f"{mode} output"] = float((out - ref_out).abs().max().detach())
        weight = torch.randn(32, generator=torch.Generator().manual_seed(seed + 2),
                             dtype=torch.float64)
        (out * weight).sum().backward()
        (ref_out * weight).sum().backward()
        results[f"{mode} gradients"] = max_difference(links, ours_t, ref_t, grad=True)
        results[f"{mode} state"] = max_difference(links, ours_t, ref_t, grad=False)
    return results


@pytest.mark.parametrize("case,num_sets", [(c, m) for c in CASES for m in SET_COUNTS[c]])
def test_registry_default_is_the_authors_function(case: str, num_sets: int) -> None:
    diffs = compare(case, num_sets)
    assert max(diffs.values()) < TOL, diffs


def test_a_changed_weight_is_noticed() -> None:
    """The comparison can fail: one weight of one set nudged after the copy."""
    name, hyper, mapping = CASES["nfwfm"]
    torch.manual_seed(0)
    ours = build_model(name, DIMS, embed_dim=K, num_sets=3, **hyper).double().eval()
    ref = authors_model(name, DIMS, K, 3, **hyper, dropout=0.2).double().eval()
    links = mapping(3, hyper)
    copy_into_reference(links, tensors(ours), tensors(ref))
    x = torch.randint(0, 3, (8, N))
    assert torch.allclose(ours(x), ref(x), rtol=0, atol=TOL)
    with torch.no_grad():
        ours.branches["fwfm"][0].weight[2, 1, 1] += 0.1        # a diagonal weight of set 2
    assert not torch.allclose(ours(x), ref(x), rtol=0, atol=TOL)


def test_an_unmapped_parameter_fails_the_coverage_check() -> None:
    name, hyper, mapping = CASES["dcnv2"]
    ours = build_model(name, DIMS, embed_dim=K, num_sets=2, **hyper)
    ref = authors_model(name, DIMS, K, 2, **hyper, dropout=0.2)
    links = [link for link in mapping(2, hyper) if link.ref != "cns.1.0.b.1"]
    with pytest.raises(AssertionError, match="not linked once"):
        check_coverage(links, tensors(ours), tensors(ref))
    partial = [link for link in mapping(2, hyper) if link.ours != "embedding.embedding.weight"
               or link.ref != "embeddings.1.embedding.weight"]
    with pytest.raises(AssertionError):
        check_coverage(partial, tensors(ours), tensors(ref))


@pytest.mark.parametrize("variant,case", [("ipnn-with-embeddings", "ipnn"),
                                          ("nfwfm-upper", "nfwfm"),
                                          ("finalmlp-gated", "finalmlp"),
                                          ("autoint-song", "autoint"),
                                          ("dcnv2-shared-cross", "dcnv2-shared")])
def test_variants_are_not_the_authors_function(variant: str, case: str) -> None:
    """Each deviation kept under its own name really differs from the authors' model: its
    parameters cannot be mapped one to one onto theirs."""
    _, hyper, mapping = CASES[case]
    extra = {"feature_selection_hidden": 6} if variant == "finalmlp-gated" else {}
    ours = build_model(variant, DIMS, embed_dim=K, num_sets=3, **hyper, **extra)
    ref = authors_model(case, DIMS, K, 3, **hyper, dropout=0.2)
    with pytest.raises(AssertionError):
        check_coverage(mapping(3, hyper), tensors(ours), tensors(ref))


def test_embedding_sets_are_initialised_one_by_one() -> None:
    """Each set's table is Xavier-uniform over (sum D, K), as one nn.Embedding per set."""
    torch.manual_seed(0)
    dims = (400, 600)
    weight = build_model("dnn", dims, embed_dim=10, num_sets=4).embedding.embedding.weight
    bound = (6.0 / (sum(dims) + 10)) ** 0.5
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.99 * bound                  # not the whole table's bound
    assert weight.std().item() == pytest.approx(bound / 3 ** 0.5, rel=0.02)


# ------------------------------------------- parameter counts of the authors' configurations

# the authors' main.py: MLP (400, 400), dropout 0.2, 4 cross layers, CIN (16, 16); AutoInt has
# no entry there, so it is left out
AUTHORS_CONFIG = {"dcnv2": {"mlp_dims": (400, 400), "dropout": 0.2, "cross_layers": 4},
                  "dnn": {"mlp_dims": (400, 400), "dropout": 0.2},
                  "ipnn": {"mlp_dims": (400, 400), "dropout": 0.2},
                  "nfwfm": {"mlp_dims": (400, 400), "dropout": 0.2},
                  "xdeepfm": {"mlp_dims": (400, 400), "dropout": 0.2, "cin_layers": (16, 16)},
                  "finalmlp": {"mlp_dims": (400, 400), "dropout": 0.2}}
CRITEO_LIKE = (27_870,) * 39           # 39 fields, about 1.09M values (paper Table 4: 1.08M)


@pytest.mark.parametrize("name", list(AUTHORS_CONFIG))
def test_parameter_table_counts_the_authors_configurations(name: str) -> None:
    """``parameter_table`` (built from the registry defaults) counts what the authors' classes,
    built as their main.py builds them, hold at every size, SE and ME."""
    from embcollapse.models import parameter_table

    table = parameter_table(CRITEO_LIKE, models=(name,))
    for row in table.itertuples():
        with torch.device("meta"):
            ref = authors_model(name, CRITEO_LIKE, row.embed_dim, row.num_sets,
                                **AUTHORS_CONFIG[name])
        assert row.parameters == sum(p.numel() for p in ref.parameters()), row
        assert row.embedding_parameters == sum(CRITEO_LIKE) * row.embed_dim * row.num_sets


# ------------------------------------------------------------------------- initialisation

@pytest.mark.parametrize("case,num_sets", [(c, m) for c in CASES for m in SET_COUNTS[c]])
def test_initialisation_is_the_authors(case: str, num_sets: int) -> None:
    """Each tensor starts as the authors' counterpart does: a constant where theirs is one (the
    same constant), random where theirs is random, with the same spread (standard deviations
    within 20% on tensors of 100 values or more, a factor 2.5 down to 20 values)."""
    name, hyper, mapping = CASES[case]
    hyper = {**hyper, "mlp_dims": (48, 32)} if hyper.get("mlp_dims") else hyper
    dims = (40, 60, 80, 100, 120, 150)
    torch.manual_seed(0)
    ours = tensors(build_model(name, dims, embed_dim=K, num_sets=num_sets, **hyper))
    ref = tensors(authors_model(name, dims, K, num_sets, **hyper, dropout=0.2))
    links = mapping(num_sets, {**hyper, "cross_layers": hyper.get("cross_layers")})
    for link in links:
        a = ours[link.ours][link.index].detach().double().reshape(-1)
        b = ref[link.ref].detach().double().reshape(-1)
        if b.numel() == 1 and b.is_floating_point() and link.ours.endswith("bias"):
            continue                                  # one random output bias: nothing to see
        if (b == b[0]).all():
            assert (a == b[0]).all(), f"{link.ours} should start at {float(b[0])}"
            continue
        assert not (a == a[0]).all(), f"{link.ours} should start random, as {link.ref}"
        if b.numel() < 20:
            continue                                  # too few values to compare spreads
        ratio = float(a.std() / b.std())
        low, high = (0.8, 1.25) if b.numel() >= 100 else (0.4, 2.5)
        assert low < ratio < high, (link, ratio)
