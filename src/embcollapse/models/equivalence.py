"""Appendix E: with a linear per-set interaction, multi-embedding is a single embedding.

For an ME model of M sets of size K whose per-set projection is linear (``projection="linear"``),
:func:`linear_me_as_single` builds the SE model of size M*K that predicts exactly the same:

* its table for field i is the M tables E_i^(1..M) side by side (the same weight matrix);
* DNN: the projection's weight for set m's columns is W^(m) / M and its bias the mean bias;
* DCNv2: the cross weights are block-diagonal over sets (W^(m) acting on set m's columns), so
  the cross network computes every set's cross network at once, then the projection as above.

With the paper's non-linear projection no such SE model exists in general.
"""
from __future__ import annotations

import copy

import torch

from .base import MultiEmbeddingModel
from .dcnv2 import DCNv2
from .dnn import DNN
from .layers import CrossNetV2, FieldEmbedding, ScaledOrthogonalCrossNet, SetLinear


def single_positions(num_fields: int, embed_dim: int, num_sets: int) -> torch.Tensor:
    """Where set m's flattened coordinate (i, k) sits in the SE input of size N*M*K.

    Returns:
        (M, N*K) long: entry [m, i*K + k] = i*M*K + m*K + k.
    """
    i = torch.arange(num_fields)[:, None]
    k = torch.arange(embed_dim)[None, :]
    return torch.stack([(i * num_sets * embed_dim + m * embed_dim + k).reshape(-1)
                        for m in range(num_sets)])


def _merge_projection(proj: SetLinear, pos: torch.Tensor) -> SetLinear:
    """Per-set linear maps (M, H, N*K) -> one map (1, H, N*M*K) that averages them."""
    m, h, _ = proj.weight.shape
    merged = SetLinear(1, pos.numel(), h).to(proj.weight)
    with torch.no_grad():
        merged.weight.zero_()
        for s in range(m):
            merged.weight[0][:, pos[s]] = proj.weight[s] / m
        merged.bias.copy_(proj.bias.mean(dim=0, keepdim=True))
    return merged


def _merge_cross(cross: CrossNetV2, pos: torch.Tensor) -> CrossNetV2:
    """Per-set cross networks -> one cross network, block-diagonal over sets."""
    layers, sets = cross.weight.shape[:2]
    m = pos.shape[0]
    merged = CrossNetV2(1, pos.numel(), layers).to(cross.weight)
    with torch.no_grad():
        merged.weight.zero_()
        merged.bias.zero_()
        for layer in range(layers):
            for s in range(m):
                src = s if sets > 1 else 0
                merged.weight[layer, 0][pos[s][:, None], pos[s][None, :]] = \
                    cross.weight[layer, src]
                merged.bias[layer, 0][pos[s]] = cross.bias[layer, src]
    return merged


def linear_me_as_single(model: MultiEmbeddingModel) -> MultiEmbeddingModel:
    """The SE model (K' = M*K, one set) equal to a linear-projection ME DNN or DCNv2.

    Args:
        model: a DNN or DCNv2 built with ``projection="linear"`` (plain cross weights).
    Returns:
        A new model of the same class with the same predictions (train and eval mode).
    """
    if not isinstance(model, (DNN, DCNv2)):
        raise TypeError(f"Appendix E covers DNN and DCNv2, not {type(model).__name__}")
    (branch,) = model.branches.values()
    if not isinstance(branch[-1], SetLinear):
        raise ValueError("only a linear per-set projection makes ME equal to SE "
                         "(build the model with projection='linear')")
    n, k, m = model.num_fields, model.embed_dim, model.num_sets
    pos = single_positions(n, k, m).to(branch[-1].weight.device)
    single = copy.deepcopy(model)
    single.embed_dim, single.num_sets = m * k, 1
    weight = model.embedding.embedding.weight
    single.embedding = FieldEmbedding(model.field_dims, m * k, 1).to(weight)
    with torch.no_grad():
        single.embedding.embedding.weight.copy_(weight)      # the M tables side by side
    (single_branch,) = single.branches.values()
    single_branch[-1] = _merge_projection(branch[-1], pos)
    if isinstance(model, DCNv2):
        if isinstance(model.cross, ScaledOrthogonalCrossNet):
            raise ValueError("the conversion needs plain cross weights")
        single_branch[1] = _merge_cross(model.cross, pos)
    return single
