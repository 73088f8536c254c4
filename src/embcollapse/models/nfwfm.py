"""NFwFM: NFM (He & Chua, 2017) with the FM pooling replaced by field-weighted pooling."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from ..config import ConfigError
from .base import MultiEmbeddingModel
from .layers import Dropout, FieldWeightedPooling, PairPooling, SetBatchNorm

PAIRS = ("all", "upper")


class NFwFM(MultiEmbeddingModel):
    """Field-weighted pooling per set -> BatchNorm -> Dropout -> projection -> mean -> MLP.

    The paper's base embedding size for NFwFM is 50 ("considering the pooling"): the pooled
    vector has only K entries. As in the authors' code the pooling is followed by BatchNorm and
    dropout before the MLP.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K (paper: 50). num_sets: M (1 = single embedding).
        mlp_dims: hidden widths; the first is each set's projection (paper: 400, 400).
        dropout: dropout after the pooling and every hidden layer (paper: 0.2).
        projection: ``nonlinear`` (paper) or ``linear``.
        pairs: ``all`` (default, the authors' code): sum over every ordered pair (i, j), i = j
            included, of W_ij e_i (.) e_j with a free N x N matrix per set drawn N(0, 1);
            ``upper`` (registry ``nfwfm-upper``): FwFM's definition, pairs i < j with one
            weight each, starting at 1 so that the model starts as an NFM, and no squared
            terms of a field with itself.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 50, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2,
                 projection: str = "nonlinear", pairs: str = "all") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        if pairs not in PAIRS:
            raise ConfigError(f"model.hyper.pairs: unknown pairs {pairs!r}; known: "
                              f"{', '.join(PAIRS)}")
        pool: nn.Module = (FieldWeightedPooling(num_sets, self.num_fields) if pairs == "all"
                           else PairPooling(num_sets, self.num_fields, weighted=True))
        pooling = [pool, SetBatchNorm(num_sets, embed_dim), Dropout(dropout)]
        self.add_deep_branch("fwfm", pooling, embed_dim, mlp_dims, dropout, projection)
