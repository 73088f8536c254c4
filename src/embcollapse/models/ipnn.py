"""IPNN (Qu et al., 2016): field-pair inner products beside the embeddings, into an MLP."""
from __future__ import annotations

from typing import Sequence

from .base import MultiEmbeddingModel
from .layers import InnerProducts


class IPNN(MultiEmbeddingModel):
    """[embeddings,] inner products of all field pairs, per set -> projection -> mean -> MLP.

    Args:
        field_dims, embed_dim, num_sets, mlp_dims, dropout: as for
            :class:`~embcollapse.models.dnn.DNN` (paper: K 10, MLP 400-400, dropout 0.2).
        product_only: feed only the N(N-1)/2 inner products to the projection (``True``) or the
            flattened embeddings and the products (``False``, IPNN's own design). ``None``
            (default) does what the authors' code does: embeddings and products for a single
            embedding (their ``ProductNeuralNetworkModel``), products only for multi-embedding
            (their ``MultiPNNModel``). Registry ``ipnn-with-embeddings`` keeps the embeddings
            for ME too, so that SE and ME differ only in the sets.
        projection: ``nonlinear`` (paper) or ``linear``.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2,
                 product_only: bool | None = None, projection: str = "nonlinear") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        n = self.num_fields
        products = num_sets > 1 if product_only is None else product_only
        width = n * (n - 1) // 2 + (0 if products else n * embed_dim)
        self.add_deep_branch("product", [InnerProducts(n, with_embeddings=not products)],
                             width, mlp_dims, dropout, projection)
