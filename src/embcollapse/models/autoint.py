"""AutoInt (Song et al., 2019): stacked multi-head self-attention over fields (paper App. D)."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from .base import MultiEmbeddingModel
from .layers import FlattenFields, SelfAttentionStack


class AutoInt(MultiEmbeddingModel):
    """logit = w . mean_m flatten(attention^(m)(e^(m))) (+ an ME-DNN part for AutoInt+).

    Configured as in the AutoInt paper: 3 interacting layers, 2 heads of size 32, residual
    connections, ReLU, unscaled dot-product attention, a linear output on the flattened field
    representations. The paper under reproduction does not say how it built ME-AutoInt; here
    the attention outputs are averaged over sets, as the CIN outputs are for xDeepFM
    (the attention is non-linear, so ME does not collapse to SE).

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        attention_layers: number of interacting layers.
        heads: attention heads per layer. head_dim: size of each head.
        mlp_dims: hidden widths of a parallel DNN (AutoInt+); empty (default) for AutoInt.
        dropout: dropout after the DNN's hidden layers.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 attention_layers: int = 3, heads: int = 2, head_dim: int = 32,
                 mlp_dims: Sequence[int] = (), dropout: float = 0.2) -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        attention = SelfAttentionStack(num_sets, embed_dim, attention_layers, heads, head_dim)
        self.add_branch("attention", [attention, FlattenFields()],
                        nn.Linear(self.num_fields * attention.output_dim, 1))
        if mlp_dims:
            self.add_deep_branch("deep", [FlattenFields()], self.num_fields * embed_dim, mlp_dims,
                                 dropout)
