"""A loop reference for the batched models: M independent single-set modules run one by one.

This is how the authors' code (pytorch-fm layout) computes multi-embedding: one ``nn.Embedding``
and one interaction module per set, a Python loop over sets. :class:`LoopReference` builds that
from a batched :class:`~embcollapse.models.base.MultiEmbeddingModel`, written with plain
``nn.Linear`` / ``nn.BatchNorm1d`` / ``nn.Conv1d`` modules and explicit loops over field pairs,
and copies the batched model's parameters into it. Tests check that both give the same
outputs and gradients; the training-step benchmark uses it as the baseline.

Each parameter or buffer of a single-set module is *tied* to a slice of a batched tensor
(:class:`Tie`); :meth:`LoopReference.load_from_batched` copies along the ties and
:meth:`LoopReference.batched_gradients` maps the reference's gradients back (a parameter the
batched model shares over sets gets the sum over sets). A shared BatchNorm, whose running
statistics change once per set, is one module called by every set, as in the authors' code.

This reference checks the batching; :mod:`embcollapse.models.authors` checks the function
against the authors' own classes.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import torch
from torch import nn

from .base import MultiEmbeddingModel
from .layers import (CIN, AttentionInteraction, CrossNetV2, FeatureGate, FieldAwarePairs,
                     FieldWeightedPooling, FlattenFields, InnerProducts, PairPooling,
                     ScaledOrthogonalCrossNet, SelfAttentionStack, SetBatchNorm, SetLinear,
                     SharedSetBatchNorm, field_offsets, ffm_slot)


@dataclass(frozen=True)
class Tie:
    """``batched[index]``, reshaped, is the single-set tensor ``single``."""

    batched: torch.Tensor
    index: Any
    single: torch.Tensor


def _set_of(param: torch.Tensor, embed_set: int) -> int:
    """Index along a stacked set dimension: the set itself, or 0 when shared."""
    return embed_set if param.shape[0] > 1 else 0


# ----------------------------------------------------------------------------- plain modules

class PlainCross(nn.Module):
    """x_{l+1} = x_0 * (W_l x_l + b_l) + x_l with one ``nn.Linear`` per layer: (B, d) -> (B, d)."""

    def __init__(self, dim: int, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(num_layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """Args: x0 (B, d). Returns: (B, d)."""
        x = x0
        for linear in self.layers:
            x = x0 * linear(x) + x
        return x


class PlainScaledOrthogonalCross(nn.Module):
    """Cross layers with W_l = lambda_l (x) Q_l blockwise, built by repeating lambda: (B, d) -> (B, d)."""

    def __init__(self, num_fields: int, embed_dim: int, num_layers: int) -> None:
        super().__init__()
        dim = num_fields * embed_dim
        self.embed_dim = embed_dim
        self.q = nn.ParameterList(nn.Parameter(torch.zeros(dim, dim)) for _ in range(num_layers))
        self.scale = nn.ParameterList(nn.Parameter(torch.ones(num_fields, num_fields))
                                      for _ in range(num_layers))
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(dim)) for _ in range(num_layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """Args: x0 (B, d). Returns: (B, d)."""
        x, k = x0, self.embed_dim
        for q, scale, bias in zip(self.q, self.scale, self.bias):
            w = scale.repeat_interleave(k, dim=0).repeat_interleave(k, dim=1) * q
            x = x0 * (x @ w.T + bias) + x
        return x


class PlainInnerProducts(nn.Module):
    """[flattened e,] <e_i, e_j> for i < j, one pair at a time: (B, N, K) -> (B, [N*K +] P)."""

    def __init__(self, num_fields: int, with_embeddings: bool) -> None:
        super().__init__()
        self.num_fields, self.with_embeddings = num_fields, with_embeddings

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, K). Returns: (B, [N*K +] P)."""
        n = self.num_fields
        products = [(e[:, i] * e[:, j]).sum(dim=1) for i in range(n) for j in range(i + 1, n)]
        parts = ([e.flatten(1)] if self.with_embeddings else []) + [torch.stack(products, dim=1)]
        return torch.cat(parts, dim=1)


class PlainPairPooling(nn.Module):
    """sum over i < j of r_ij e_i (.) e_j, one pair at a time: (B, N, K) -> (B, K) or (B, 1)."""

    def __init__(self, num_fields: int, weighted: bool, reduce: bool) -> None:
        super().__init__()
        self.num_fields, self.reduce = num_fields, reduce
        pairs = num_fields * (num_fields - 1) // 2
        self.pair_weight = nn.Parameter(torch.ones(pairs)) if weighted else None

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, K). Returns: (B, K), or (B, 1) with ``reduce``."""
        n, out, pair = self.num_fields, torch.zeros_like(e[:, 0]), 0
        for i in range(n):
            for j in range(i + 1, n):
                r = 1.0 if self.pair_weight is None else self.pair_weight[pair]
                out = out + r * e[:, i] * e[:, j]
                pair += 1
        return out.sum(dim=1, keepdim=True) if self.reduce else out


class PlainFieldAwarePairs(nn.Module):
    """FFM pair sum, one pair at a time: (B, N, (N-1)*K) -> (B, 1)."""

    def __init__(self, num_fields: int, embed_dim: int) -> None:
        super().__init__()
        self.num_fields, self.embed_dim = num_fields, embed_dim

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, (N-1)*K). Returns: (B, 1)."""
        n, k = self.num_fields, self.embed_dim
        total = torch.zeros_like(e[:, 0, :1])
        for i in range(n):
            for j in range(i + 1, n):
                a, b = ffm_slot(i, j), ffm_slot(j, i)
                total = total + (e[:, i, a * k:(a + 1) * k] * e[:, j, b * k:(b + 1) * k]).sum(
                    dim=1, keepdim=True)
        return total


class PlainCIN(nn.Module):
    """pytorch-fm's compressed interaction network (no split-half): (B, N, K) -> (B, sum H_l)."""

    def __init__(self, num_fields: int, layer_sizes: list[int]) -> None:
        super().__init__()
        prev, convs = num_fields, []
        for size in layer_sizes:
            convs.append(nn.Conv1d(num_fields * prev, size, kernel_size=1))
            prev = size
        self.convs = nn.ModuleList(convs)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, K). Returns: (B, sum H_l)."""
        x0, h, outs = e.unsqueeze(2), e, []
        for conv in self.convs:
            z = x0 * h.unsqueeze(1)                                   # (B, N, H, K)
            h = torch.relu(conv(z.reshape(z.shape[0], -1, z.shape[-1])))
            outs.append(h.sum(dim=2))
        return torch.cat(outs, dim=1)


class PlainSelfAttention(nn.Module):
    """AutoInt interacting layers with one ``nn.Linear`` per projection and a loop over heads:
    (B, N, K) -> (B, N, heads * d)."""

    def __init__(self, embed_dim: int, num_layers: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.layers = nn.ModuleList()
        in_dim = embed_dim
        for _ in range(num_layers):
            self.layers.append(nn.ModuleDict({
                name: nn.Linear(in_dim, heads * head_dim, bias=False)
                for name in ("query", "key", "value", "residual")}))
            in_dim = heads * head_dim

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, K). Returns: (B, N, heads * d)."""
        x = e
        for layer in self.layers:
            q, k, v = (layer[name](x) for name in ("query", "key", "value"))
            heads = []
            for h in range(self.heads):
                part = slice(h * self.head_dim, (h + 1) * self.head_dim)
                scores = torch.softmax(q[..., part] @ k[..., part].transpose(1, 2), dim=-1)
                heads.append(scores @ v[..., part])
            x = torch.relu(torch.cat(heads, dim=-1) + layer["residual"](x))
        return x


class PlainFieldWeightedPooling(nn.Module):
    """sum over every (i, j), i = j included, of W_ij e_i (.) e_j, one pair at a time:
    (B, N, K) -> (B, K)."""

    def __init__(self, num_fields: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(num_fields, num_fields))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, K). Returns: (B, K)."""
        n = e.shape[1]
        return sum(self.weight[i, j] * e[:, i] * e[:, j] for i in range(n) for j in range(n))


class PlainAttentionInteraction(nn.Module):
    """Linear(K, d), then per layer LayerNorm(h + nn.MultiheadAttention(h, h, h)), then ReLU:
    (B, N, K) -> (B, N, d)."""

    def __init__(self, embed_dim: int, dim: int, num_layers: int, heads: int,
                 dropout: float) -> None:
        super().__init__()
        self.embed = nn.Linear(embed_dim, dim)
        self.attentions = nn.ModuleList(nn.MultiheadAttention(dim, heads, dropout=dropout,
                                                              batch_first=True)
                                        for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(num_layers))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (B, N, K). Returns: (B, N, d)."""
        h = self.embed(e)
        for attention, norm in zip(self.attentions, self.norms):
            h = norm(h + attention(h, h, h, need_weights=False)[0])
        return torch.relu(h)


class PlainFeatureGate(nn.Module):
    """2 * sigmoid(MLP(context)) times the input: (B, N*K) -> (B, N*K)."""

    def __init__(self, embed_dim: int, out_dim: int, hidden: int) -> None:
        super().__init__()
        self.context = nn.Parameter(torch.zeros(1, embed_dim))
        self.gate = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(),
                                  nn.Linear(hidden, out_dim), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N*K). Returns: (B, N*K)."""
        return x * 2.0 * self.gate(self.context)


# ---------------------------------------------------------------- batched -> single set

Memo = dict[int, nn.Module]


@singledispatch
def single_set(module: nn.Module, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    """The plain single-set module computing set ``embed_set`` of a batched module, and its ties.

    Stateless modules (ReLU, Dropout, Identity, ...) are copied as they are. ``memo`` maps a
    batched module that every set shares *as one module* (its state changes once per set, as a
    shared BatchNorm's running statistics do) to its plain module, built once with its ties.
    """
    if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
        raise TypeError(f"no single-set reference for {type(module).__name__}")
    return copy.deepcopy(module), []


@single_set.register
def _(module: nn.Sequential, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    parts = [single_set(child, embed_set, memo) for child in module]
    return nn.Sequential(*(p for p, _ in parts)), [t for _, ties in parts for t in ties]


@single_set.register
def _(module: FlattenFields, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    return nn.Flatten(1), []


@single_set.register
def _(module: SetLinear, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    out_dim, in_dim = module.weight.shape[1:]
    linear = nn.Linear(in_dim, out_dim, bias=module.bias is not None)
    s = _set_of(module.weight, embed_set)
    ties = [Tie(module.weight, s, linear.weight)]
    if module.bias is not None:
        ties.append(Tie(module.bias, s, linear.bias))
    return linear, ties


@single_set.register
def _(module: SetBatchNorm, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    h = module.dim
    norm = nn.BatchNorm1d(h, eps=module.eps, momentum=module.momentum)
    part = slice(embed_set * h, (embed_set + 1) * h)
    ties = [Tie(getattr(module, name), part, getattr(norm, name))
            for name in ("weight", "bias", "running_mean", "running_var")]
    ties.append(Tie(module.num_batches_tracked, (), norm.num_batches_tracked))
    return norm, ties


@single_set.register
def _(module: SharedSetBatchNorm, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    if id(module) in memo:
        return memo[id(module)], []
    norm = nn.BatchNorm1d(module.num_features, eps=module.eps, momentum=module.momentum)
    memo[id(module)] = norm
    return norm, [Tie(getattr(module, name), (), getattr(norm, name))
                  for name in ("weight", "bias", "running_mean", "running_var",
                               "num_batches_tracked")]


@single_set.register
def _(module: CrossNetV2, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    layers, _, dim, _ = module.weight.shape
    plain = PlainCross(dim, layers)
    s = _set_of(module.weight[0], embed_set)
    ties = []
    for layer, linear in enumerate(plain.layers):
        ties += [Tie(module.weight, (layer, s), linear.weight),
                 Tie(module.bias, (layer, s), linear.bias)]
    return plain, ties


@single_set.register
def _(module: ScaledOrthogonalCrossNet, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    layers = module.weight.shape[0]
    plain = PlainScaledOrthogonalCross(module.num_fields, module.embed_dim, layers)
    s = _set_of(module.weight[0], embed_set)
    ties = []
    for layer in range(layers):
        ties += [Tie(module.weight, (layer, s), plain.q[layer]),
                 Tie(module.scale, (layer, s), plain.scale[layer]),
                 Tie(module.bias, (layer, s), plain.bias[layer])]
    return plain, ties


@single_set.register
def _(module: InnerProducts, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    return PlainInnerProducts(module.num_fields, module.with_embeddings), []


@single_set.register
def _(module: PairPooling, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    plain = PlainPairPooling(module.num_fields, module.pair_weight is not None, module.reduce)
    if module.pair_weight is None:
        return plain, []
    assert plain.pair_weight is not None
    return plain, [Tie(module.pair_weight, _set_of(module.pair_weight, embed_set),
                       plain.pair_weight)]


@single_set.register
def _(module: FieldWeightedPooling, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    plain = PlainFieldWeightedPooling(module.weight.shape[-1])
    return plain, [Tie(module.weight, embed_set, plain.weight)]


@single_set.register
def _(module: AttentionInteraction, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    embed_dim = module.embed.weight.shape[-1]
    first = module.layers[0]["attention"] if len(module.layers) else None
    heads, dropout = (first.heads, first.dropout) if first is not None else (1, 0.0)
    plain = PlainAttentionInteraction(embed_dim, module.output_dim, len(module.layers), heads,
                                      dropout)
    m = embed_set
    ties = [Tie(module.embed.weight, m, plain.embed.weight),
            Tie(module.embed.bias, m, plain.embed.bias)]
    for layer, attention, norm in zip(module.layers, plain.attentions, plain.norms):
        batched = layer["attention"]
        ties += [Tie(batched.in_weight, m, attention.in_proj_weight),
                 Tie(batched.in_bias, m, attention.in_proj_bias),
                 Tie(batched.out.weight, m, attention.out_proj.weight),
                 Tie(batched.out.bias, m, attention.out_proj.bias),
                 Tie(layer["norm"].weight, m, norm.weight),
                 Tie(layer["norm"].bias, m, norm.bias)]
    return plain, ties


@single_set.register
def _(module: FieldAwarePairs, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    return PlainFieldAwarePairs(module.num_fields, module.embed_dim), []


@single_set.register
def _(module: CIN, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    plain = PlainCIN(module.num_fields, list(module.layer_sizes))
    ties = []
    for weight, bias, conv in zip(module.weights, module.biases, plain.convs):
        ties += [Tie(weight, embed_set, conv.weight), Tie(bias, embed_set, conv.bias)]
    return plain, ties


@single_set.register
def _(module: SelfAttentionStack, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    plain = PlainSelfAttention(module.embed_dim, len(module.layers), module.heads,
                               module.head_dim)
    ties = []
    for batched, single in zip(module.layers, plain.layers):
        for name, linear in batched.items():
            ties.append(Tie(linear.weight, _set_of(linear.weight, embed_set),
                            single[name].weight))
    return plain, ties


@single_set.register
def _(module: FeatureGate, embed_set: int, memo: Memo) -> tuple[nn.Module, list[Tie]]:
    hidden, embed_dim = module.hidden.weight.shape[1:]
    plain = PlainFeatureGate(embed_dim, module.out.weight.shape[1], hidden)
    ties = [Tie(module.context, embed_set, plain.context)]
    for batched, linear in ((module.hidden, plain.gate[0]), (module.out, plain.gate[2])):
        ties += [Tie(batched.weight, embed_set, linear.weight),
                 Tie(batched.bias, embed_set, linear.bias)]
    return plain, ties


# ------------------------------------------------------------------------ the loop model

class LoopReference(nn.Module):
    """A batched model rewritten as M single-set models run in a Python loop.

    Args:
        model: the batched model; its current parameters are copied in (see
            :meth:`load_from_batched`), and it is kept referenced for later copies.

    forward: x (B, N) ids -> (B,) logits, equal to ``model(x)`` (with dropout off or in eval).
    """

    def __init__(self, model: MultiEmbeddingModel) -> None:
        super().__init__()
        self.num_sets = model.num_sets
        table = model.embedding
        width = table.embed_dim
        self.register_buffer("offsets", torch.tensor(field_offsets(model.field_dims)),
                             persistent=False)
        self.embeddings = nn.ModuleList(nn.Embedding(sum(model.field_dims), width)
                                        for _ in range(self.num_sets))
        ties = [Tie(table.embedding.weight, (slice(None), slice(m * width, (m + 1) * width)),
                    emb.weight) for m, emb in enumerate(self.embeddings)]
        self.branches = nn.ModuleDict()
        for name, branch in model.branches.items():
            memo: Memo = {}
            singles = [single_set(branch, m, memo) for m in range(self.num_sets)]
            self.branches[name] = nn.ModuleList(s for s, _ in singles)
            ties += [t for _, set_ties in singles for t in set_ties]
        self.head = copy.deepcopy(model.head)
        self.linear = copy.deepcopy(model.linear)
        for original, duplicate in ((model.head, self.head), (model.linear, self.linear)):
            if original is not None:
                ties += [Tie(a, (), b) for a, b in zip(original.parameters(),
                                                       duplicate.parameters())]
                ties += [Tie(a, (), b) for a, b in zip(original.buffers(), duplicate.buffers())]
        self.ties = ties
        self.to(table.embedding.weight)
        self.load_from_batched()

    @torch.no_grad()
    def load_from_batched(self) -> None:
        """Copy every tied tensor of the batched model into this reference."""
        for tie in self.ties:
            tie.single.copy_(tie.batched[tie.index].reshape(tie.single.shape))

    def batched_gradients(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The gradient each batched parameter would have, from this reference's gradients.

        Returns:
            (batched parameter, gradient) for every tied parameter; slices no set uses are 0.
        """
        grads: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for tie in self.ties:
            if not tie.batched.requires_grad:
                continue
            param, grad = grads.setdefault(id(tie.batched),
                                           (tie.batched, torch.zeros_like(tie.batched)))
            if tie.single.grad is not None:
                view = grad[tie.index]
                view += tie.single.grad.reshape(view.shape)
        return list(grads.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N) value ids. Returns: (B,) click logits."""
        ids = x + self.offsets
        es = [embedding(ids) for embedding in self.embeddings]           # M x (B, N, T)
        pooled = {name: torch.stack([module(e) for module, e in zip(modules, es)]).mean(dim=0)
                  for name, modules in self.branches.items()}
        logit = self.head(pooled)
        return logit if self.linear is None else logit + self.linear(x)
