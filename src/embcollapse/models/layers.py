"""Building blocks shared by the models, batched over a leading *set* dimension M.

Every per-set module keeps its parameters stacked along the set dimension and computes all sets
with one batched product, so multi-embedding costs no Python loop over sets. Set-batched
tensors are *set-major*, ``(M, B, ...)``, so that a per-set matrix product is one ``bmm``.
Shapes: M embedding sets, B batch, N fields, K embedding size, P = N(N-1)/2 field pairs.

A cross network built with ``shared=True`` holds one copy of its weights (set dimension 1) and
applies it to every set (the paper's Figure 10c).
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def field_offsets(field_dims: Sequence[int]) -> list[int]:
    """Start of each field's rows in a table that stacks all fields: [0, D_0, D_0 + D_1, ...]."""
    return [0, *itertools.accumulate(field_dims)][:-1]


def pair_indices(num_fields: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fields (i, j) of every pair i < j, in row-major order: two (P,) long tensors."""
    rows, cols = torch.triu_indices(num_fields, num_fields, offset=1)
    return rows, cols


def field_blocks(weight: torch.Tensor, num_fields: int) -> torch.Tensor:
    """Split square weights (..., N*K, N*K) into field blocks (..., N, N, K, K).

    Block ``[j, i]`` is the K-by-K matrix that maps field i's slice of the input into field j's
    slice of the output (the paper's W^{i->j}).
    """
    *lead, out_dim, in_dim = weight.shape
    k = in_dim // num_fields
    blocks = weight.reshape(*lead, num_fields, k, num_fields, k)
    return blocks.transpose(-3, -2)


def set_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Per-set affine maps: x (M, B, in), weight (S, out, in), bias (S, out) -> (M, B, out).

    With S = 1 (one set, or one map shared by all) this is one matrix product over all M*B rows;
    otherwise one batched product over sets.
    """
    if weight.shape[0] == 1:
        out = F.linear(x.reshape(-1, x.shape[-1]), weight[0], None if bias is None else bias[0])
        return out.view(*x.shape[:-1], -1)
    if bias is None:
        return torch.bmm(x, weight.transpose(1, 2))
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


KEEP_BITS = 31                        # Dropout's random integers are uniform on [0, 2**31)


def keep_threshold(p: float) -> int:
    """The integer t such that ``bits >= t`` keeps with probability 1 - p for 31-bit ``bits``:
    (2**31 - t) / 2**31, within 2**-32 of 1 - p (finer than a float32 uniform's 2**-24)."""
    return round(p * (1 << KEEP_BITS))


def dropout_cpu(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout, as ``F.dropout(x, p, training=True)``: each element kept independently
    with probability 1 - p (see :func:`keep_threshold`) and scaled by 1 / (1 - p), else zero.

    The mask comes from one int32 ``random_`` (31 random bits per element) and a comparison,
    about twice as fast forward and backward on a CPU as ``bernoulli_``, the same distribution.
    Args: x (...) float. Returns: (...) like x; gradients flow through the kept elements.
    """
    if p >= 1.0:
        return x * 0.0
    bits = torch.empty(x.shape, dtype=torch.int32, device=x.device).random_()
    keep = (bits >= keep_threshold(p)).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x * keep


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose CPU training pass draws its mask with :func:`dropout_cpu`; elsewhere
    (GPU, eval, in-place) it is ``nn.Dropout``. (...) -> (...)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.p > 0.0 and x.device.type == "cpu" and not self.inplace:
            return dropout_cpu(x, self.p)
        return super().forward(x)


class FieldEmbedding(nn.Module):
    """M embedding sets for N fields in one table, with per-field offsets.

    Args:
        field_dims: cardinality D_i of each field.
        embed_dim: K, the width of one set's table.
        num_sets: M.

    The weight ``embedding.weight`` has shape (sum_i D_i, M * K): set m's tables are the columns
    ``m*K:(m+1)*K``, so the M sets of a field side by side are its single-embedding table of size
    M*K. Each set is initialised Xavier-uniform on its own (sum_i D_i, K) table, as the authors'
    code does with one ``nn.Embedding`` per set: uniform in +-sqrt(6 / (sum_i D_i + K)).
    :meth:`reset_parameters` can draw them with another vocabulary's bound.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int, num_sets: int = 1) -> None:
        super().__init__()
        self.field_dims = tuple(int(d) for d in field_dims)
        self.embed_dim, self.num_sets = embed_dim, num_sets
        self.embedding = nn.Embedding(sum(self.field_dims), num_sets * embed_dim)
        self.register_buffer("offsets", torch.tensor(field_offsets(self.field_dims)),
                             persistent=False)
        self.reset_parameters()

    def init_bound(self, init_rows: int = 0) -> float:
        """Xavier-uniform bound of one set's table, sqrt(6 / (rows + K)), with ``rows`` the
        tables' own vocabulary (``init_rows`` 0) or ``init_rows``."""
        rows = init_rows if init_rows > 0 else sum(self.field_dims)
        return math.sqrt(6.0 / (rows + self.embed_dim))

    def reset_parameters(self, init_rows: int = 0) -> None:
        """Draw every set uniform in +-:meth:`init_bound` (``xavier_uniform_`` per set when
        ``init_rows`` is 0)."""
        bound = self.init_bound(init_rows)
        nn.init.uniform_(self.embedding.weight, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Look up every set at once.

        Args:
            x: (B, N) value ids, each in [0, D_i).
        Returns:
            (M, B, N, K) embeddings (a set-major view of one lookup).
        """
        e = self.embedding(x + self.offsets)                   # (B, N, M*K)
        b, n, _ = e.shape
        return e.view(b, n, self.num_sets, self.embed_dim).permute(2, 0, 1, 3)

    def field_table(self, field: int, embed_set: int = 0) -> torch.Tensor:
        """The table E_field of one set: (D_field, K), a view of the weight."""
        start = field_offsets(self.field_dims)[field]
        k = self.embed_dim
        rows = self.embedding.weight[start:start + self.field_dims[field]]
        return rows[:, embed_set * k:(embed_set + 1) * k]

    def tables(self) -> list[list[torch.Tensor]]:
        """All tables, indexed [set][field], each (D_i, K), detached."""
        return [[self.field_table(i, m).detach() for i in range(len(self.field_dims))]
                for m in range(self.num_sets)]


class FeaturesLinear(nn.Module):
    """First-order term: a bias plus one learned weight per feature value. (B, N) ids -> (B,)."""

    def __init__(self, field_dims: Sequence[int]) -> None:
        super().__init__()
        self.weight = nn.Embedding(sum(field_dims), 1)
        self.bias = nn.Parameter(torch.zeros(()))
        self.register_buffer("offsets", torch.tensor(field_offsets(field_dims)),
                             persistent=False)
        nn.init.zeros_(self.weight.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N) value ids. Returns: (B,) first-order logits."""
        return self.weight(x + self.offsets).sum(dim=(1, 2)) + self.bias


class FlattenFields(nn.Module):
    """Concatenate each set's field embeddings: (M, B, N, K) -> (M, B, N*K)."""

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, N*K), contiguous."""
        return e.reshape(*e.shape[:2], -1)


class SetLinear(nn.Module):
    """M independent linear maps applied at once: (M, B, in) -> (M, B, out).

    Initialised like ``nn.Linear`` (uniform in +-1/sqrt(in)) for every set.
    """

    def __init__(self, num_sets: int, in_dim: int, out_dim: int, bias: bool = True) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)
        self.weight = nn.Parameter(torch.empty(num_sets, out_dim, in_dim).uniform_(-bound, bound))
        self.bias = (nn.Parameter(torch.empty(num_sets, out_dim).uniform_(-bound, bound))
                     if bias else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (M, B, in). Returns: (M, B, out)."""
        return set_linear(x, self.weight, self.bias)


class SetBatchNorm(nn.BatchNorm1d):
    """BatchNorm with separate statistics and affine parameters per set and feature.

    (M, B, H) -> (M, B, H); the parameters are those of ``BatchNorm1d(M * H)``, set m owning
    channels ``m*H:(m+1)*H``.
    """

    def __init__(self, num_sets: int, dim: int) -> None:
        super().__init__(num_sets * dim)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Args: x (M, B, H). Returns: (M, B, H)."""
        m, b, h = x.shape
        y = super().forward(x.transpose(0, 1).reshape(b, m * h))
        return y.view(b, m, h).transpose(0, 1)


class SharedSetBatchNorm(nn.BatchNorm1d):
    """One BatchNorm applied to every set in turn, as a module shared by a loop over sets is.

    (M, B, H) -> (M, B, H). The affine parameters and running statistics are those of one
    ``BatchNorm1d(H)``. In training each set is normalised by its own batch statistics and the
    running statistics are updated once per set, in set order (M updates per call), exactly as
    calling one ``BatchNorm1d`` M times would; in evaluation every set uses the running ones.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Args: x (M, B, H). Returns: (M, B, H)."""
        m, b, h = x.shape
        if not self.training:
            y = F.batch_norm(x.reshape(m * b, h), self.running_mean, self.running_var,
                             self.weight, self.bias, False, 0.0, self.eps)
            return y.view(m, b, h)
        if b < 2:
            raise ValueError(f"BatchNorm in training needs more than 1 row per set, got {b}")
        mean = x.mean(dim=1, keepdim=True)                         # (M, 1, H)
        var = x.var(dim=1, unbiased=False, keepdim=True)
        y = (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        with torch.no_grad():
            unbiased = var.squeeze(1) * (b / (b - 1))
            for s in range(m):                                     # M small (H,) updates
                self.num_batches_tracked.add_(1)
                factor = (self.momentum if self.momentum is not None
                          else 1.0 / float(self.num_batches_tracked))
                self.running_mean.lerp_(mean[s, 0], factor)
                self.running_var.lerp_(unbiased[s], factor)
        return y


class SetProjection(nn.Sequential):
    """Linear -> BatchNorm -> ReLU -> Dropout per set: the non-linear projection after each set's
    interaction (paper Section 5). (M, B, in) -> (M, B, out).

    With ``shared`` one Linear and one BatchNorm serve every set (:class:`SharedSetBatchNorm`).
    """

    def __init__(self, num_sets: int, in_dim: int, out_dim: int, dropout: float,
                 shared: bool = False) -> None:
        norm = SharedSetBatchNorm(out_dim) if shared else SetBatchNorm(num_sets, out_dim)
        super().__init__(SetLinear(1 if shared else num_sets, in_dim, out_dim), norm,
                         nn.ReLU(), Dropout(dropout))


class SetMLP(nn.Sequential):
    """Hidden layers of :class:`SetProjection`, per set: (M, B, in) -> (M, B, hidden[-1])."""

    def __init__(self, num_sets: int, in_dim: int, hidden: Sequence[int], dropout: float) -> None:
        dims = [in_dim, *hidden]
        super().__init__(*(SetProjection(num_sets, a, b, dropout) for a, b in zip(dims, dims[1:])))


class MLP(nn.Module):
    """(Linear -> BatchNorm -> ReLU -> Dropout) per hidden layer, then a linear output.

    (B, in) -> (B, out); with ``out_dim=None`` the last hidden layer is the output.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], dropout: float,
                 out_dim: int | None = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(),
                       Dropout(dropout)]
            in_dim = width
        if out_dim is not None:
            layers.append(nn.Linear(in_dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, in). Returns: (B, out)."""
        return self.net(x)


class CrossNetV2(nn.Module):
    """DCNv2's cross network with full-rank weights, one per set, computed batched.

    x_{l+1} = x_0 * (W_l x_l + b_l) + x_l, with W_l of shape (N*K, N*K) for every set.
    ``weight`` is (L, S, out, in) with S = M (or 1 when shared); block
    ``[j*K:(j+1)*K, i*K:(i+1)*K]`` maps field i's embedding into the slot of field j (the
    paper's W^{i->j}; see :func:`field_blocks`). Weights start Xavier-uniform, biases at zero,
    as in the authors' code.
    """

    def __init__(self, num_sets: int, dim: int, num_layers: int, shared: bool = False) -> None:
        super().__init__()
        sets = 1 if shared else num_sets
        bound = math.sqrt(3.0 / dim)                        # xavier_uniform_ of a (dim, dim)
        self.weight = nn.Parameter(
            torch.empty(num_layers, sets, dim, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(num_layers, sets, dim))

    def weights(self) -> torch.Tensor:
        """The cross weights W in use: (L, S, N*K, N*K)."""
        return self.weight

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """Args: x0 (M, B, N*K). Returns: (M, B, N*K)."""
        w, x = self.weights(), x0
        for layer in range(w.shape[0]):
            x = torch.addcmul(x, x0, set_linear(x, w[layer], self.bias[layer]))
        return x


class ScaledOrthogonalCrossNet(CrossNetV2):
    """Cross network whose K-by-K field blocks are ``lambda_ij * Q_ij`` (paper Evidence III).

    ``weight`` holds Q and ``scale`` (L, S, N, N) the learnable lambda (starting at 1);
    :meth:`orthogonality_penalty` is the unweighted sum over layers, sets and blocks of
    ``||I - Q_ij Q_ij^T||_F^2``, zero exactly when every block of Q is orthogonal.
    """

    def __init__(self, num_sets: int, num_fields: int, embed_dim: int, num_layers: int,
                 shared: bool = False) -> None:
        super().__init__(num_sets, num_fields * embed_dim, num_layers, shared)
        self.num_fields, self.embed_dim = num_fields, embed_dim
        self.scale = nn.Parameter(torch.ones(num_layers, self.weight.shape[1], num_fields,
                                             num_fields))

    def weights(self) -> torch.Tensor:
        """lambda * Q blockwise: (L, S, N*K, N*K)."""
        n, k = self.num_fields, self.embed_dim
        q = self.weight.view(*self.weight.shape[:2], n, k, n, k)
        return (q * self.scale[:, :, :, None, :, None]).view(self.weight.shape)

    def orthogonality_penalty(self) -> torch.Tensor:
        """sum over l, s, i, j of ||I - Q Q^T||_F^2 for every K-by-K block Q: a scalar."""
        q = field_blocks(self.weight, self.num_fields)     # (L, S, N, N, K, K)
        eye = torch.eye(self.embed_dim, dtype=q.dtype, device=q.device)
        return (eye - q @ q.transpose(-1, -2)).square().sum()


class InnerProducts(nn.Module):
    """Inner product of every field pair: (M, B, N, K) -> (M, B, P), pairs i < j row-major.

    With ``with_embeddings`` the flattened embeddings come first, as in IPNN (Qu et al., 2016):
    (M, B, N*K + P).
    """

    def __init__(self, num_fields: int, with_embeddings: bool = True) -> None:
        super().__init__()
        rows, cols = pair_indices(num_fields)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.num_fields, self.with_embeddings = num_fields, with_embeddings

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, P) or (M, B, N*K + P)."""
        gram = e @ e.transpose(-1, -2)                      # (M, B, N, N)
        products = gram[..., self.rows, self.cols]
        if not self.with_embeddings:
            return products
        return torch.cat([e.reshape(*e.shape[:2], -1), products], dim=-1)


class PairPooling(nn.Module):
    """Field-weighted bi-interaction pooling: sum over i < j of r_ij * (e_i (.) e_j).

    (M, B, N, K) -> (M, B, K); ``reduce=True`` also sums over K: (M, B, 1), the FwFM score.
    ``weighted=False`` fixes every r_ij = 1 (FM, NFM); otherwise ``pair_weight`` is (M, P),
    one weight per set and field pair, starting at 1 so that the model starts as an FM.
    """

    def __init__(self, num_sets: int, num_fields: int, weighted: bool = True,
                 reduce: bool = False) -> None:
        super().__init__()
        self.num_fields, self.reduce = num_fields, reduce
        rows, cols = pair_indices(num_fields)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.pair_weight = (nn.Parameter(torch.ones(num_sets, len(rows))) if weighted else None)

    def pair_matrix(self) -> torch.Tensor:
        """Symmetric (M, N, N) matrix of the pair weights, zero diagonal (weighted only)."""
        assert self.pair_weight is not None
        n, sets = self.num_fields, self.pair_weight.shape[0]
        flat = self.pair_weight.new_zeros(sets, n * n).index_copy(
            1, self.rows * n + self.cols, self.pair_weight)
        r = flat.view(sets, n, n)
        return r + r.transpose(1, 2)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, K), or (M, B, 1) with ``reduce``."""
        if self.pair_weight is None:
            total = e.sum(dim=2)
            out = 0.5 * (total.square() - e.square().sum(dim=2))
        else:
            m, b, n, k = e.shape
            r = self.pair_matrix()                          # (M, N, N)
            mixed = torch.bmm(r, e.transpose(1, 2).reshape(m, n, b * k)).view(m, n, b, k)
            out = 0.5 * (e * mixed.transpose(1, 2)).sum(dim=2)
        return out.sum(dim=-1, keepdim=True) if self.reduce else out


class FieldWeightedPooling(nn.Module):
    """The authors' NFwFM pooling: sum over *all* ordered field pairs (i, j), i = j included, of
    W_ij * (e_i (.) e_j), with a free N x N matrix W per set drawn N(0, 1).

    (M, B, N, K) -> (M, B, K). ``weight`` is (M, N, N). Only W + W^T matters off the diagonal;
    the diagonal weighs each field's own squares, which FwFM's i < j sum leaves out.
    """

    def __init__(self, num_sets: int, num_fields: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_sets, num_fields, num_fields))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, K)."""
        m, b, n, k = e.shape
        mixed = torch.bmm(self.weight, e.transpose(1, 2).reshape(m, n, b * k))   # (M, N, B*K)
        return (e * mixed.view(m, n, b, k).transpose(1, 2)).sum(dim=2)


class FieldAwarePairs(nn.Module):
    """FFM interaction: sum over i < j of <E_i^{->j}[x_i], E_j^{->i}[x_j]>.

    Input (M, B, N, (N-1)*K): each field's N-1 sub-embeddings side by side, slot s of field i
    reserved for partner field j = s if s < i else s + 1. Output (M, B, 1).
    """

    def __init__(self, num_fields: int, embed_dim: int) -> None:
        super().__init__()
        self.num_fields, self.embed_dim = num_fields, embed_dim
        rows, cols = pair_indices(num_fields)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        # for pair (i, j), i < j: field i's slot for j is j - 1, field j's slot for i is i
        self.register_buffer("slot_ij", cols - 1, persistent=False)
        self.register_buffer("slot_ji", rows.clone(), persistent=False)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, (N-1)*K). Returns: (M, B, 1)."""
        sub = e.unflatten(-1, (self.num_fields - 1, self.embed_dim))   # (M, B, N, N-1, K)
        left = sub[:, :, self.rows, self.slot_ij]                         # (M, B, P, K)
        right = sub[:, :, self.cols, self.slot_ji]
        return (left * right).sum(dim=(-2, -1)).unsqueeze(-1)


def ffm_slot(field: int, partner: int) -> int:
    """Index of field ``field``'s sub-embedding reserved for ``partner`` (see FieldAwarePairs)."""
    if field == partner:
        raise ValueError(f"FFM keeps no table of field {field} for itself")
    return partner if partner < field else partner - 1


class CIN(nn.Module):
    """xDeepFM's compressed interaction network, one per set, computed batched.

    X^0 = e (N maps), X^l_h = ReLU(sum_{i,g} W^l_{h,i,g} X^0_i (.) X^{l-1}_g + b^l_h) with H_l
    maps; the output is every layer's maps summed over K, concatenated:
    (M, B, N, K) -> (M, B, sum_l H_l). ``weights[l]`` is (M, H_l, N * H_{l-1}) with input
    channel ``i * H_{l-1} + g`` (pytorch-fm's ``Conv1d`` layout, without split-half).
    """

    def __init__(self, num_sets: int, num_fields: int, layer_sizes: Sequence[int]) -> None:
        super().__init__()
        self.num_fields, self.layer_sizes = num_fields, tuple(layer_sizes)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        prev = num_fields
        for size in layer_sizes:
            bound = 1.0 / math.sqrt(num_fields * prev)      # Conv1d's default initialisation
            self.weights.append(nn.Parameter(
                torch.empty(num_sets, size, num_fields * prev).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(num_sets, size).uniform_(-bound, bound)))
            prev = size
        self.output_dim = int(sum(layer_sizes))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, sum_l H_l)."""
        m, b, n, k = e.shape
        h, pooled = e, []
        for weight, bias in zip(self.weights, self.biases):
            z = (e.unsqueeze(3) * h.unsqueeze(2)).reshape(m, b, -1, k)    # (M, B, N*H, K)
            h = torch.relu(weight.unsqueeze(1) @ z + bias[:, None, :, None])  # (M, B, H_l, K)
            pooled.append(h.sum(dim=-1))
        return torch.cat(pooled, dim=-1)


class SelfAttentionStack(nn.Module):
    """AutoInt's interacting layers (Song et al., 2019), one stack per set, computed batched.

    Each layer: multi-head self-attention over fields with unscaled dot products, a residual
    projection, then ReLU. (M, B, N, K) -> (M, B, N, heads * head_dim). Per layer the
    projections ``query``, ``key``, ``value``, ``residual`` are (M, heads * head_dim, in), no bias.
    """

    def __init__(self, num_sets: int, embed_dim: int, num_layers: int, heads: int,
                 head_dim: int) -> None:
        super().__init__()
        self.embed_dim, self.heads, self.head_dim = embed_dim, heads, head_dim
        self.layers = nn.ModuleList()
        in_dim = embed_dim
        for _ in range(num_layers):
            self.layers.append(nn.ModuleDict({
                name: SetLinear(num_sets, in_dim, heads * head_dim, bias=False)
                for name in ("query", "key", "value", "residual")}))
            in_dim = heads * head_dim
        self.output_dim = in_dim

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, N, heads * head_dim)."""
        m, b, n, _ = e.shape
        x = e
        for layer in self.layers:
            flat = x.reshape(m, b * n, -1)
            q, k, v = (layer[name](flat).view(m, b, n, self.heads, self.head_dim).transpose(2, 3)
                       for name in ("query", "key", "value"))            # (M, B, heads, N, d)
            attention = torch.softmax(q @ k.transpose(-1, -2), dim=-1)   # (M, B, heads, N, N)
            out = (attention @ v).transpose(2, 3).reshape(m, b * n, -1)
            x = torch.relu(out + layer["residual"](flat)).view(m, b, n, -1)
        return x


class SetLayerNorm(nn.Module):
    """LayerNorm over the last dimension with affine parameters per set: (M, R, H) -> (M, R, H).

    ``weight`` and ``bias`` are (M, H), starting at 1 and 0 as ``nn.LayerNorm``'s.
    """

    def __init__(self, num_sets: int, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_sets, dim))
        self.bias = nn.Parameter(torch.zeros(num_sets, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (M, R, H). Returns: (M, R, H)."""
        normed = F.layer_norm(x, x.shape[-1:], eps=self.eps)
        return torch.addcmul(self.bias.unsqueeze(1), normed, self.weight.unsqueeze(1))


class SetMultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` self-attention, one per set, computed batched.

    softmax(Q K^T / sqrt(head_dim)) V per head, concatenated, then an output projection;
    Q, K, V = x W_in^T + b_in split in three. ``in_weight`` (M, 3d, d) starts Xavier-uniform and
    ``in_bias`` (M, 3d) at zero; ``out`` is a biased :class:`SetLinear` whose bias starts at zero,
    as torch initialises ``nn.MultiheadAttention``. Dropout on the attention weights in training.
    (M, B, N, d) -> (M, B, N, d).
    """

    def __init__(self, num_sets: int, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        bound = math.sqrt(6.0 / (4 * dim))                  # xavier_uniform_ of a (3d, d)
        self.in_weight = nn.Parameter(torch.empty(num_sets, 3 * dim, dim).uniform_(-bound, bound))
        self.in_bias = nn.Parameter(torch.zeros(num_sets, 3 * dim))
        self.out = SetLinear(num_sets, dim, dim)
        assert self.out.bias is not None
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (M, B, N, d). Returns: (M, B, N, d)."""
        m, b, n, d = x.shape
        qkv = set_linear(x.reshape(m, b * n, d), self.in_weight, self.in_bias)
        q, k, v = (part.view(m, b, n, self.heads, d // self.heads).transpose(2, 3)
                   for part in qkv.chunk(3, dim=-1))                 # (M, B, heads, N, d/h)
        scores = (q * (d // self.heads) ** -0.5) @ k.transpose(-1, -2)
        attention = F.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        out = (attention @ v).transpose(2, 3).reshape(m, b * n, d)
        return self.out(out).view(m, b, n, d)


class AttentionInteraction(nn.Module):
    """The authors' AutoInt interaction (their ``afi.py``), one per set, computed batched.

    h = e W^T + b (a biased Linear(K, d)); per layer h <- LayerNorm(h + MHA(h)), with torch's
    scaled multi-head attention (:class:`SetMultiheadAttention`); ReLU after the last layer only.
    (M, B, N, K) -> (M, B, N, d).
    """

    def __init__(self, num_sets: int, embed_dim: int, dim: int, num_layers: int, heads: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = SetLinear(num_sets, embed_dim, dim)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"attention": SetMultiheadAttention(num_sets, dim, heads, dropout),
                           "norm": SetLayerNorm(num_sets, dim)}) for _ in range(num_layers))
        self.output_dim = dim

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Args: e (M, B, N, K). Returns: (M, B, N, d)."""
        m, b, n, k = e.shape
        h = self.embed(e.reshape(m, b * n, k)).view(m, b, n, -1)
        for layer in self.layers:
            h = h + layer["attention"](h)
            h = layer["norm"](h.view(m, b * n, -1)).view(m, b, n, -1)
        return torch.relu(h)


class FeatureGate(nn.Module):
    """FinalMLP's feature selection (Mao et al., 2023) with a learned context, per set.

    gate = 2 * sigmoid(MLP(c)) with c a learned (K,) context starting at zero and the MLP
    K -> hidden -> ReLU -> N*K; the flattened embeddings are multiplied by the gate.
    (M, B, N*K) -> (M, B, N*K).
    """

    def __init__(self, num_sets: int, embed_dim: int, out_dim: int, hidden: int) -> None:
        super().__init__()
        self.context = nn.Parameter(torch.zeros(num_sets, 1, embed_dim))
        self.hidden = SetLinear(num_sets, embed_dim, hidden)
        self.out = SetLinear(num_sets, hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (M, B, N*K). Returns: (M, B, N*K), gated."""
        gate = 2.0 * torch.sigmoid(self.out(F.relu(self.hidden(self.context))))   # (M, 1, N*K)
        return x * gate
