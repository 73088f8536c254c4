"""NFwFM: NFM (He & Chua, 2017) with the FM pooling replaced by field-weighted FwFM pooling."""
from __future__ import annotations

from typing import Sequence


from .base import MultiEmbeddingModel
from .layers import Dropout, PairPooling, SetBatchNorm


class NFwFM(MultiEmbeddingModel):
    """sum_{i<j} r_ij e_i (.) e_j per set -> BatchNorm -> Dropout -> projection -> mean -> MLP.

    The paper's base embedding size for NFwFM is 50 ("considering the pooling"): the pooled
    vector has only K entries. As in the authors' code the pooling is followed by BatchNorm and
    dropout before the MLP; unlike it, pairs are i < j (FwFM's definition) rather than every
    ordered pair and the diagonal, and the pair weights start at 1 (an FM) rather than N(0, 1).

    Args:
        field_dims: cardinality of each field.
        embed_dim: K (paper: 50). num_sets: M (1 = single embedding).
        mlp_dims: hidden widths; the first is each set's projection (paper: 400, 400).
        dropout: dropout after the pooling and every hidden layer (paper: 0.2).
        projection: ``nonlinear`` (paper) or ``linear``.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 50, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2,
                 projection: str = "nonlinear") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        pooling = [PairPooling(num_sets, self.num_fields, weighted=True),
                   SetBatchNorm(num_sets, embed_dim), Dropout(dropout)]
        self.add_deep_branch("fwfm", pooling, embed_dim, mlp_dims, dropout, projection)
