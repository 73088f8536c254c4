"""IPNN (Qu et al., 2016): field-pair inner products beside the embeddings, into an MLP."""
from __future__ import annotations

from typing import Sequence

from .base import MultiEmbeddingModel
from .layers import InnerProducts


class IPNN(MultiEmbeddingModel):
    """[embeddings, inner products of all field pairs] per set -> projection -> mean -> MLP.

    Args:
        field_dims, embed_dim, num_sets, mlp_dims, dropout: as for
            :class:`~embcollapse.models.dnn.DNN` (paper: K 10, MLP 400-400, dropout 0.2).
        product_only: feed only the N(N-1)/2 inner products to the projection. IPNN and the
            authors' single-embedding code also feed the flattened embeddings (the default);
            the authors' multi-embedding code feeds the products only.
        projection: ``nonlinear`` (paper) or ``linear``.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2,
                 product_only: bool = False, projection: str = "nonlinear") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        n = self.num_fields
        width = n * (n - 1) // 2 + (0 if product_only else n * embed_dim)
        self.add_deep_branch("product", [InnerProducts(n, with_embeddings=not product_only)],
                             width, mlp_dims, dropout, projection)
