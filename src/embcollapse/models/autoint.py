"""AutoInt (Song et al., 2019) as the authors' ``afi.py`` builds it, with the AutoInt paper's
own interacting layers as a variant; the paper under reproduction reports it in Table 7
(Appendix D)."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from ..config import ConfigError
from .base import MultiEmbeddingModel
from .layers import AttentionInteraction, FlattenFields, SelfAttentionStack

INTERACTIONS = ("authors", "song")


class AutoInt(MultiEmbeddingModel):
    """logit = w . flatten(mean_m attention^(m)(e^(m))) + b (+ an ME-DNN part for AutoInt+).

    ``interaction="authors"`` (default) is the authors' ``afi.py`` ``AutoInt``/``MultiAutoInt``:
    each set projects its embeddings with a biased Linear(K, d), d = heads * head_dim; each of
    the layers adds ``nn.MultiheadAttention`` (scaled, biased, with an output projection) to its
    input and applies LayerNorm; a ReLU follows the last layer only. Multi-embedding averages
    the sets' attention outputs before the shared linear output, and (AutoInt+) the sets' first
    DNN layers before the rest of the DNN. The authors' code gives no configuration for it;
    3 layers, 2 heads, d = 64 and no DNN follow the AutoInt paper *(inferred)*.

    ``interaction="song"`` (registry ``autoint-song``) is the AutoInt paper's interacting layer
    instead: unscaled bias-free attention, a learned residual projection, ReLU after every
    layer, no LayerNorm, no input projection.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        attention_layers: number of interacting layers.
        heads: attention heads per layer. head_dim: size of each head.
        mlp_dims: hidden widths of a parallel DNN (AutoInt+); empty (default) for AutoInt.
        dropout: dropout after the DNN's hidden layers.
        attention_dropout: dropout on the attention weights (``authors`` only; default 0).
        interaction: ``authors`` or ``song``.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 attention_layers: int = 3, heads: int = 2, head_dim: int = 32,
                 mlp_dims: Sequence[int] = (), dropout: float = 0.2,
                 attention_dropout: float = 0.0, interaction: str = "authors") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        attention: AttentionInteraction | SelfAttentionStack
        if interaction == "authors":
            attention = AttentionInteraction(num_sets, embed_dim, heads * head_dim,
                                             attention_layers, heads, attention_dropout)
        elif interaction == "song":
            if attention_dropout:
                raise ConfigError("model.hyper.attention_dropout: only for interaction=authors")
            attention = SelfAttentionStack(num_sets, embed_dim, attention_layers, heads, head_dim)
        else:
            raise ConfigError(f"model.hyper.interaction: unknown {interaction!r}; known: "
                              f"{', '.join(INTERACTIONS)}")
        self.add_branch("attention", [attention, FlattenFields()],
                        nn.Linear(self.num_fields * attention.output_dim, 1))
        if mlp_dims:
            self.add_deep_branch("deep", [FlattenFields()], self.num_fields * embed_dim, mlp_dims,
                                 dropout)
