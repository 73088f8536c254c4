"""DNN: concatenated embeddings into an MLP, no explicit interaction (paper Evidence IV)."""
from __future__ import annotations

from typing import Sequence

from .base import MultiEmbeddingModel
from .layers import FlattenFields


class DNN(MultiEmbeddingModel):
    """Embeddings concatenated per set -> projection -> mean over sets -> MLP -> logit.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        mlp_dims: hidden widths; the first is each set's projection (paper: 400, 400).
        dropout: dropout after every hidden layer (paper: 0.2).
        projection: ``nonlinear`` (paper) or ``linear`` (Appendix E: ME equals SE).
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2,
                 projection: str = "nonlinear") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        self.add_deep_branch("deep", [FlattenFields()], self.num_fields * embed_dim, mlp_dims,
                             dropout, projection)
