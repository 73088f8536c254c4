"""DCNv2 (Wang et al., 2021): a full-rank cross network stacked under an MLP, and the variants
the paper's analysis needs (regularised, shared or agreeing interaction, linear projection)."""
from __future__ import annotations

from typing import Sequence

import torch

from ..config import ConfigError
from .base import MultiEmbeddingModel
from .layers import CrossNetV2, FlattenFields, ScaledOrthogonalCrossNet, field_blocks


class DCNv2(MultiEmbeddingModel):
    """Embeddings flattened per set -> cross network -> projection -> mean over sets -> MLP.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        cross_layers: number of cross layers (paper: 4).
        mlp_dims: hidden widths after the cross network; the first is each set's projection
            (paper: 400, 400).
        dropout: dropout after every hidden layer (paper: 0.2).
        projection: ``nonlinear`` (paper) or ``linear`` (Appendix E: ME equals SE).
        share_interaction: one cross network for all sets (Figure 10c).
        share_projection: one projection (Linear, BatchNorm) for all sets as well. The authors'
            shared ablation (``MultiESingleIDCNv2``) shares both: registry ``dcnv2-shared``;
            ``dcnv2-shared-cross`` shares the cross network only, a milder ablation.
        orthogonal_weight: ``None`` for plain weights; a number writes every K-by-K block of
            the cross weights as lambda_ij * Q_ij and adds that weight times
            sum ||I - Q_ij Q_ij^T||_F^2 to :meth:`regularization` (Evidence III: 1e-5).
        agreement_weight: weight of the penalty that pulls the sets' interaction patterns
            together (Figure 10d): the variance over sets of each block's squared Frobenius
            norm, averaged over layers and blocks. The paper says only that the divergence of
            the sets' interaction weights is restricted by regularisation, and the authors'
            published code has no such model, so this form and ``dcnv2-agree``'s weight 1.0
            are our reading.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 cross_layers: int = 4, mlp_dims: Sequence[int] = (400, 400),
                 dropout: float = 0.2, projection: str = "nonlinear",
                 share_interaction: bool = False, share_projection: bool = False,
                 orthogonal_weight: float | None = None, agreement_weight: float = 0.0) -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        if (orthogonal_weight is not None and orthogonal_weight < 0) or agreement_weight < 0:
            raise ConfigError("model.hyper: penalty weights must be >= 0")
        self.orthogonal_weight, self.agreement_weight = orthogonal_weight, agreement_weight
        dim = self.num_fields * embed_dim
        cross = (CrossNetV2(num_sets, dim, cross_layers, share_interaction)
                 if orthogonal_weight is None else
                 ScaledOrthogonalCrossNet(num_sets, self.num_fields, embed_dim, cross_layers,
                                          share_interaction))
        self.add_deep_branch("cross", [FlattenFields(), cross], dim, mlp_dims, dropout,
                             projection, share_projection)

    @property
    def cross(self) -> CrossNetV2:
        """The (batched) cross network."""
        return self.branches["cross"][1]

    def cross_blocks(self, layer: int = 0, embed_set: int = 0) -> torch.Tensor:
        """The cross weight of one layer and set split into field blocks, detached.

        Returns:
            (N, N, K, K): ``[j, i]`` is W^{i->j}, mapping field i's embedding into field j's slot.
        """
        w = self.cross.weights()[layer].detach()
        return field_blocks(w[embed_set if w.shape[0] > 1 else 0], self.num_fields)

    def field_pair_tables(self, embed_set: int = 0, layer: int = 0) -> list[list[torch.Tensor]]:
        """Sub-embeddings E_i^{->j} = E_i @ W^{i->j}.T (paper Evidence I), detached.

        Returns:
            [i][j] -> (D_i, K): field i's table as projected into field j's slot.
        """
        blocks = self.cross_blocks(layer, embed_set)
        tables = self.embedding_tables()[embed_set]
        return [[tables[i] @ blocks[j, i].T for j in range(self.num_fields)]
                for i in range(self.num_fields)]

    def agreement_penalty(self) -> torch.Tensor:
        """Variance over sets of ||W^{i->j}||_F^2, averaged over layers and blocks: a scalar."""
        norms = field_blocks(self.cross.weights(), self.num_fields).square().sum(dim=(-2, -1))
        return norms.var(dim=1, unbiased=False).mean()             # norms: (L, S, N, N)

    def regularization(self) -> torch.Tensor:
        """orthogonal_weight * orthogonality penalty + agreement_weight * agreement penalty."""
        total = super().regularization()
        if self.orthogonal_weight is not None:
            assert isinstance(self.cross, ScaledOrthogonalCrossNet)
            total = total + self.orthogonal_weight * self.cross.orthogonality_penalty()
        if self.agreement_weight:
            total = total + self.agreement_weight * self.agreement_penalty()
        return total
