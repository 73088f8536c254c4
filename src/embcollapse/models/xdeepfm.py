"""xDeepFM (Lian et al., 2018): a compressed interaction network beside a DNN."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from .base import MultiEmbeddingModel
from .layers import CIN, FlattenFields


class XDeepFM(MultiEmbeddingModel):
    """logit = w . mean_m CIN^(m)(e^(m)) + DNN part (an ME-DNN over the same sets).

    As in the authors' code there is no first-order term and the CIN has no split-half.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        cin_layers: feature maps per CIN layer (paper: size 16; the authors' code: (16, 16)).
        mlp_dims: the DNN part's hidden widths, the first being each set's projection
            (paper: 400, 400); empty for a CIN-only model.
        dropout: dropout after every hidden layer (paper: 0.2).
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 cin_layers: Sequence[int] = (16, 16), mlp_dims: Sequence[int] = (400, 400),
                 dropout: float = 0.2) -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        cin = CIN(num_sets, self.num_fields, cin_layers)
        self.add_branch("cin", [cin], nn.Linear(cin.output_dim, 1))
        if mlp_dims:
            self.add_deep_branch("deep", [FlattenFields()], self.num_fields * embed_dim, mlp_dims,
                                 dropout)
