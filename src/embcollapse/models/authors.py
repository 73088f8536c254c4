"""The authors' models as they wrote them, for tests: what produced the paper's numbers.

The paper's published code (thuml/Multi-Embedding, MIT licence; pytorch-fm layout) builds every
model from plain modules and loops over embedding sets in Python. This module restates those
classes here, from reading that code: the same modules, the same order of operations, the same
initialisation, attribute names close to theirs (``embeddings``, ``cns``, ``pns``, ``fwfms``,
``cins``, ``inters``, ``attens``, ``mlp``, ``mlp_post``, ...). It is written independently of
:mod:`embcollapse.models` (it imports nothing from it), so that
``tests/test_authors_equivalence.py`` can copy a registry model's weights into it through an
explicit parameter mapping and check that both compute the same function.

Every model returns logits (the authors' apply a sigmoid and train with ``BCELoss``; ours
train on logits with ``BCEWithLogitsLoss``, the same loss except where the sigmoid saturates in
float32, where theirs has no gradient: ``train.loss: authors-bce`` trains with theirs,
:class:`embcollapse.train.AuthorsBCELoss`). ``authors_model(name, ...)`` builds
the authors' single-embedding class when ``num_sets == 1`` and their multi-embedding class
otherwise:

=============  ===============================  ==========================================
registry       single embedding (their class)   multi-embedding (their class)
=============  ===============================  ==========================================
dcnv2          CrossNetworkV2Model              MultiDCNnew2
dcnv2-shared   --                               MultiESingleIDCNv2
dnn            DNNModel                         MultiDNNModel
ipnn           ProductNeuralNetworkModel        MultiPNNModel
nfwfm          NFwFMModel                       MultiNFwFMModel
xdeepfm        XDeepFM                          MultiXDeepFM
finalmlp       FinalMLP                         MultiFinalMLP
autoint        AutoInt (afi.py)                 MultiAutoInt (afi.py)
=============  ===============================  ==========================================
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------------------------------ pieces

class Embedding(nn.Module):
    """One embedding set for all fields (their ``FeaturesEmbedding``): (B, N) ids -> (B, N, K).

    One ``nn.Embedding`` of shape (sum_i D_i, K), Xavier-uniform, with per-field offsets.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(sum(field_dims), embed_dim)
        offsets = [0, *itertools.accumulate(field_dims)][:-1]
        self.register_buffer("offsets", torch.tensor(offsets), persistent=False)
        nn.init.xavier_uniform_(self.embedding.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x + self.offsets)


class Perceptron(nn.Module):
    """Their ``MultiLayerPerceptron``: (Linear, BatchNorm1d, ReLU, Dropout) per hidden width,
    then Linear(., 1) when ``output_layer``. (B, in) -> (B, out)."""

    def __init__(self, in_dim: int, dims: Sequence[int], dropout: float,
                 output_layer: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in dims:
            layers += [nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(),
                       nn.Dropout(dropout)]
            in_dim = width
        if output_layer:
            layers.append(nn.Linear(in_dim, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class CrossNetwork(nn.Module):
    """Their ``CrossNetworkV2``: x_{l+1} = x_0 * (W_l x_l + b_l) + x_l, W_l Xavier, b_l zero.
    (B, d) -> (B, d)."""

    def __init__(self, dim: int, num_layers: int) -> None:
        super().__init__()
        self.W = nn.ParameterList(nn.Parameter(nn.init.xavier_uniform_(torch.empty(dim, dim)))
                                  for _ in range(num_layers))
        self.b = nn.ParameterList(nn.Parameter(torch.zeros(dim)) for _ in range(num_layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for w, b in zip(self.W, self.b):
            x = x0 * (torch.matmul(w, x.unsqueeze(2)).squeeze(2) + b) + x
        return x


class InnerProducts(nn.Module):
    """Their ``InnerProductNetwork``: <e_i, e_j> for i < j, row-major. (B, N, K) -> (B, P)."""

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        rows, cols = zip(*itertools.combinations(range(e.shape[1]), 2))
        return (e[:, list(rows)] * e[:, list(cols)]).sum(dim=2)


class FieldWeighted(nn.Module):
    """Their ``NFwFM`` pooling: sum over all (i, j) of W_ij e_i (.) e_j, W (1, N, N) ~ N(0, 1).
    (B, N, K) -> (B, K)."""

    def __init__(self, num_fields: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, num_fields, num_fields))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        a = e.transpose(1, 2).unsqueeze(-1)                       # (B, K, N, 1)
        b = e.transpose(1, 2).unsqueeze(-2)                       # (B, K, 1, N)
        return (torch.matmul(a, b) * self.weight).sum(dim=-1).sum(dim=-1)


class CompressedInteraction(nn.Module):
    """Their ``CIN`` (xdfm.py, no split-half, no output layer): (B, N, K) -> (B, sum H_l)."""

    def __init__(self, num_fields: int, layer_sizes: Sequence[int]) -> None:
        super().__init__()
        self.conv_layers = nn.ModuleList()
        prev = num_fields
        for size in layer_sizes:
            self.conv_layers.append(nn.Conv1d(num_fields * prev, size, 1))
            prev = size
        self.output_dim = int(sum(layer_sizes))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        x0, h, maps = e.unsqueeze(2), e, []
        for conv in self.conv_layers:
            z = x0 * h.unsqueeze(1)                               # (B, N, H, K)
            h = F.relu(conv(z.reshape(z.shape[0], -1, z.shape[-1])))
            maps.append(h)
        return torch.cat(maps, dim=1).sum(dim=2)


class AttentionBlock(nn.Module):
    """Their ``AttentionModule``: x + MultiheadAttention(x, x, x), then LayerNorm (seq first)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.atten = nn.MultiheadAttention(dim, heads, dropout=dropout)
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(x + self.atten(x, x, x)[0])


class SelfAttention(nn.Module):
    """Their ``MultiHeadSelfAttentionInteraction``: Linear(K, d), the blocks, ReLU at the end.
    (B, N, K) -> (B, N, d)."""

    def __init__(self, embed_dim: int, dim: int, heads: int, num_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.atten_embedding = nn.Linear(embed_dim, dim)
        self.attens = nn.ModuleList(AttentionBlock(dim, heads, dropout)
                                    for _ in range(num_layers))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        h = self.atten_embedding(e).transpose(0, 1)               # (N, B, d)
        for block in self.attens:
            h = block(h)
        return F.relu(h.transpose(0, 1))


class Fusion(nn.Module):
    """Their ``FinalMLPFusion``: w_x . x + w_y . y + x^T W_xy y, W_xy starting at zero.
    (B, H, 2) -> (B, 1)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.w_x = nn.Linear(dim, 1)
        self.w_y = nn.Linear(dim, 1)
        self.w_xy = nn.Parameter(torch.zeros(dim, dim))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x, y = hidden[:, :, 0], hidden[:, :, 1]
        return self.w_x(x) + self.w_y(y) + ((x @ self.w_xy) * y).sum(dim=1, keepdim=True)


class TwoStreams(nn.Module):
    """Their ``FinalMLPInter`` (feature selection commented out: an Identity in its place):
    (B, N, K) -> (B, H, 2)."""

    def __init__(self, in_dim: int, dims: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Identity(),
                                                Perceptron(in_dim, dims, dropout, False))
                                  for _ in range(2))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return torch.stack([mlp(e.flatten(1)) for mlp in self.mlps], dim=-1)


def mean_over_sets(outputs: list[torch.Tensor]) -> torch.Tensor:
    """The authors' ``torch.stack(..., dim=-1).mean(dim=-1)`` over the sets' outputs."""
    return torch.stack(outputs, dim=-1).mean(dim=-1)


# ------------------------------------------------------------------------------ models

class DCNv2Single(nn.Module):
    """``CrossNetworkV2Model``: cross network -> MLP (no output) -> Linear(., 1)."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout, cross_layers):
        super().__init__()
        dim = len(field_dims) * embed_dim
        self.embedding = Embedding(field_dims, embed_dim)
        self.cn = CrossNetwork(dim, cross_layers)
        self.mlp = Perceptron(dim, mlp_dims, dropout, output_layer=False)
        self.linear = nn.Linear(mlp_dims[-1], 1)

    def forward(self, x):
        return self.linear(self.mlp(self.cn(self.embedding(x).flatten(1)))).squeeze(1)


class DCNv2Multi(nn.Module):
    """``MultiDCNnew2``: per set cross network -> first MLP layer; mean; the rest of the MLP.
    ``shared=True`` is ``MultiESingleIDCNv2``: one ``cn`` (cross network and first MLP layer,
    BatchNorm included) called on every set in turn."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout, cross_layers, shared=False):
        super().__init__()
        dims = [len(field_dims) * k for k in embed_dims]
        self.embeddings = nn.ModuleList(Embedding(field_dims, k) for k in embed_dims)

        def cross_and_projection(dim: int) -> nn.Module:
            return nn.Sequential(CrossNetwork(dim, cross_layers),
                                 Perceptron(dim, mlp_dims[:1], dropout, output_layer=False))

        if shared:
            self.cn = cross_and_projection(dims[0])
        else:
            self.cns = nn.ModuleList(cross_and_projection(d) for d in dims)
        self.mlp = Perceptron(mlp_dims[0], mlp_dims[1:], dropout)

    def forward(self, x):
        cns = self.cns if hasattr(self, "cns") else [self.cn] * len(self.embeddings)
        hidden = mean_over_sets([cn(emb(x).flatten(1)) for emb, cn in zip(self.embeddings, cns)])
        return self.mlp(hidden).squeeze(1)


class DNNSingle(nn.Module):
    """``DNNModel``: flattened embeddings -> MLP."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout):
        super().__init__()
        self.embedding = Embedding(field_dims, embed_dim)
        self.mlp = Perceptron(len(field_dims) * embed_dim, mlp_dims, dropout)

    def forward(self, x):
        return self.mlp(self.embedding(x).flatten(1)).squeeze(1)


class DNNMulti(nn.Module):
    """``MultiDNNModel``: per set embedding -> flatten -> first MLP layer; mean; the rest."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Sequential(Embedding(field_dims, k), nn.Flatten(1),
                          Perceptron(len(field_dims) * k, mlp_dims[:1], dropout, False))
            for k in embed_dims)
        self.mlp = Perceptron(mlp_dims[0], mlp_dims[1:], dropout)

    def forward(self, x):
        return self.mlp(mean_over_sets([branch(x) for branch in self.embeddings])).squeeze(1)


class IPNNSingle(nn.Module):
    """``ProductNeuralNetworkModel`` (inner): [flattened embeddings, inner products] -> MLP."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout):
        super().__init__()
        n = len(field_dims)
        self.embedding = Embedding(field_dims, embed_dim)
        self.pn = InnerProducts()
        self.mlp = Perceptron(n * (n - 1) // 2 + n * embed_dim, mlp_dims, dropout)

    def forward(self, x):
        e = self.embedding(x)
        return self.mlp(torch.cat([e.flatten(1), self.pn(e)], dim=1)).squeeze(1)


class IPNNMulti(nn.Module):
    """``MultiPNNModel`` (inner): per set inner products only -> first MLP layer; mean; rest."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout):
        super().__init__()
        n = len(field_dims)
        self.embeddings = nn.ModuleList(Embedding(field_dims, k) for k in embed_dims)
        self.pns = nn.ModuleList(
            nn.Sequential(InnerProducts(),
                          Perceptron(n * (n - 1) // 2, mlp_dims[:1], dropout, False))
            for _ in embed_dims)
        self.mlp = Perceptron(mlp_dims[0], mlp_dims[1:], dropout)

    def forward(self, x):
        hidden = mean_over_sets([pn(emb(x)) for emb, pn in zip(self.embeddings, self.pns)])
        return self.mlp(hidden).squeeze(1)


class NFwFMSingle(nn.Module):
    """``NFwFMModel``: field-weighted pooling -> BatchNorm -> Dropout -> MLP."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout):
        super().__init__()
        self.embedding = Embedding(field_dims, embed_dim)
        self.fm = nn.Sequential(FieldWeighted(len(field_dims)), nn.BatchNorm1d(embed_dim),
                                nn.Dropout(dropout))
        self.mlp = Perceptron(embed_dim, mlp_dims, dropout)

    def forward(self, x):
        return self.mlp(self.fm(self.embedding(x))).squeeze(1)


class NFwFMMulti(nn.Module):
    """``MultiNFwFMModel``: per set pooling -> BatchNorm -> Dropout -> first MLP layer; mean."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout):
        super().__init__()
        self.embeddings = nn.ModuleList(Embedding(field_dims, k) for k in embed_dims)
        self.fwfms = nn.ModuleList(
            nn.Sequential(FieldWeighted(len(field_dims)), nn.BatchNorm1d(k), nn.Dropout(dropout),
                          Perceptron(k, mlp_dims[:1], dropout, False))
            for k in embed_dims)
        self.mlp = Perceptron(mlp_dims[0], mlp_dims[1:], dropout)

    def forward(self, x):
        hidden = mean_over_sets([fw(emb(x)) for emb, fw in zip(self.embeddings, self.fwfms)])
        return self.mlp(hidden).squeeze(1)


class XDeepFMSingle(nn.Module):
    """``XDeepFM`` (w/o linear): Linear(CIN(e)) + MLP(flattened e)."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout, cin_layers):
        super().__init__()
        self.embedding = Embedding(field_dims, embed_dim)
        self.cin = CompressedInteraction(len(field_dims), cin_layers)
        self.cin_post = nn.Linear(self.cin.output_dim, 1)
        self.mlp = Perceptron(len(field_dims) * embed_dim, mlp_dims, dropout)

    def forward(self, x):
        e = self.embedding(x)
        return (self.cin_post(self.cin(e)) + self.mlp(e.flatten(1))).squeeze(1)


class XDeepFMMulti(nn.Module):
    """``MultiXDeepFM``: Linear(mean of CINs) + MLP_post(mean of first MLP layers)."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout, cin_layers):
        super().__init__()
        n = len(field_dims)
        self.embeddings = nn.ModuleList(Embedding(field_dims, k) for k in embed_dims)
        self.cins = nn.ModuleList(CompressedInteraction(n, cin_layers) for _ in embed_dims)
        self.cin_post = nn.Linear(self.cins[0].output_dim, 1)
        self.mlps = nn.ModuleList(Perceptron(n * k, mlp_dims[:1], dropout, False)
                                  for k in embed_dims)
        self.mlp_post = Perceptron(mlp_dims[0], mlp_dims[1:], dropout)

    def forward(self, x):
        es = [emb(x) for emb in self.embeddings]
        out = self.cin_post(mean_over_sets([cin(e) for cin, e in zip(self.cins, es)]))
        out = out + self.mlp_post(mean_over_sets([m(e.flatten(1)) for m, e in zip(self.mlps, es)]))
        return out.squeeze(1)


class FinalMLPSingle(nn.Module):
    """``FinalMLP``: two MLP streams on the flattened embeddings, bilinear fusion."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout):
        super().__init__()
        self.embedding = Embedding(field_dims, embed_dim)
        self.inter = TwoStreams(len(field_dims) * embed_dim, mlp_dims, dropout)
        self.fusion = Fusion(mlp_dims[-1])

    def forward(self, x):
        return self.fusion(self.inter(self.embedding(x))).squeeze(1)


class FinalMLPMulti(nn.Module):
    """``MultiFinalMLP``: both streams per set, each averaged over sets, then the fusion."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout):
        super().__init__()
        self.embeddings = nn.ModuleList(Embedding(field_dims, k) for k in embed_dims)
        self.inters = nn.ModuleList(TwoStreams(len(field_dims) * k, mlp_dims, dropout)
                                    for k in embed_dims)
        self.fusion = Fusion(mlp_dims[-1])

    def forward(self, x):
        hidden = mean_over_sets([inter(emb(x))
                                 for emb, inter in zip(self.embeddings, self.inters)])
        return self.fusion(hidden).squeeze(1)


class AutoIntSingle(nn.Module):
    """afi.py ``AutoInt``: Linear(flattened attention output) [+ MLP(flattened e)]."""

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout, attention_layers, heads,
                 head_dim, attention_dropout):
        super().__init__()
        n, d = len(field_dims), heads * head_dim
        self.embedding = Embedding(field_dims, embed_dim)
        self.atten = SelfAttention(embed_dim, d, heads, attention_layers, attention_dropout)
        self.atten_post = nn.Linear(n * d, 1)
        self.mlp = Perceptron(n * embed_dim, mlp_dims, dropout) if mlp_dims else None

    def forward(self, x):
        e = self.embedding(x)
        out = self.atten_post(self.atten(e).flatten(1))
        if self.mlp is not None:
            out = out + self.mlp(e.flatten(1))
        return out.squeeze(1)


class AutoIntMulti(nn.Module):
    """afi.py ``MultiAutoInt``: Linear(flatten(mean of attentions)) [+ MLP_post(mean of first
    MLP layers)]."""

    def __init__(self, field_dims, embed_dims, mlp_dims, dropout, attention_layers, heads,
                 head_dim, attention_dropout):
        super().__init__()
        n, d = len(field_dims), heads * head_dim
        self.embeddings = nn.ModuleList(Embedding(field_dims, k) for k in embed_dims)
        self.attens = nn.ModuleList(SelfAttention(k, d, heads, attention_layers,
                                                  attention_dropout) for k in embed_dims)
        self.atten_post = nn.Linear(n * d, 1)
        self.mlps = (nn.ModuleList(Perceptron(n * k, mlp_dims[:1], dropout, False)
                                   for k in embed_dims) if mlp_dims else None)
        self.mlp_post = Perceptron(mlp_dims[0], mlp_dims[1:], dropout) if mlp_dims else None

    def forward(self, x):
        es = [emb(x) for emb in self.embeddings]
        out = self.atten_post(mean_over_sets([a(e) for a, e in zip(self.attens, es)]).flatten(1))
        if self.mlps is not None:
            out = out + self.mlp_post(mean_over_sets([m(e.flatten(1))
                                                      for m, e in zip(self.mlps, es)]))
        return out.squeeze(1)


# ------------------------------------------------------------------------------ builder

Builder = Callable[..., nn.Module]
AUTHORS: dict[str, tuple[Builder | None, Builder]] = {
    "dcnv2": (DCNv2Single, DCNv2Multi),
    "dcnv2-shared": (None, lambda *a, **k: DCNv2Multi(*a, **k, shared=True)),
    "dnn": (DNNSingle, DNNMulti),
    "ipnn": (IPNNSingle, IPNNMulti),
    "nfwfm": (NFwFMSingle, NFwFMMulti),
    "xdeepfm": (XDeepFMSingle, XDeepFMMulti),
    "finalmlp": (FinalMLPSingle, FinalMLPMulti),
    "autoint": (AutoIntSingle, AutoIntMulti),
}


def authors_model(name: str, field_dims: Sequence[int], embed_dim: int, num_sets: int,
                  **hyper: Any) -> nn.Module:
    """The authors' class for registry model ``name`` (single if ``num_sets == 1``).

    ``hyper`` uses our hyper-parameter names (``mlp_dims``, ``dropout``, ``cross_layers``,
    ``cin_layers``, ``attention_layers``, ``heads``, ``head_dim``, ``attention_dropout``).
    """
    single, multi = AUTHORS[name]
    if num_sets == 1:
        if single is None:
            raise ValueError(f"the authors have no single-embedding {name}")
        return single(field_dims, embed_dim, **hyper)
    return multi(field_dims, [embed_dim] * num_sets, **hyper)
