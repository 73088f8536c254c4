"""Model sizes of the paper (Section 5.2): "Nx" means N times the base embedding parameters.

Single embedding (SE) scales the embedding size, K = base * N with one set; multi-embedding
(ME) keeps K = base and uses N sets. The base size is 10 (NFwFM: 50).

The models are the registry defaults, which compute the authors' functions (see
:mod:`embcollapse.models.authors`); ``tests/test_authors_equivalence.py`` checks that
:func:`parameter_table` counts what the authors' classes hold when built as their ``main.py``
builds them. The paper itself states no parameter counts. One difference in the sizes: the
authors' ``main.py`` builds single-embedding IPNN with K = 10 at every size (``ipnn-20`` ...
``ipnn-100``), so its SE row may not scale anything; here SE scales K as the paper says.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import torch

from ..config import ConfigError
from .registry import build_model, count_parameters, default_embed_dim, model_spec

SIZE_PRESETS: dict[str, int] = {"1x": 1, "2x": 2, "3x": 3, "4x": 4, "10x": 10}
EMBEDDINGS = ("SE", "ME")
PAPER_MODELS = ("dnn", "ipnn", "nfwfm", "xdeepfm", "dcnv2", "finalmlp", "autoint")


def scale_factor(scale: str | int) -> int:
    """``"4x"`` or 4 -> 4."""
    if isinstance(scale, str):
        if scale not in SIZE_PRESETS:
            raise ConfigError(f"unknown model size {scale!r}; known: {', '.join(SIZE_PRESETS)}")
        return SIZE_PRESETS[scale]
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"a model size must be a preset or an integer >= 1, got {scale!r}")
    return scale


def size_preset(name: str, scale: str | int, embedding: str = "SE") -> tuple[int, int]:
    """Embedding size and number of sets of a model at a size.

    Args:
        name: a registered model (its base K is the class default: 10, NFwFM 50).
        scale: ``"1x"``, ``"2x"``, ``"3x"``, ``"4x"``, ``"10x"`` or an integer factor.
        embedding: ``"SE"`` (K = base * scale, M = 1) or ``"ME"`` (K = base, M = scale).
    Returns:
        (K, M).
    """
    model_spec(name)
    factor, base = scale_factor(scale), default_embed_dim(name)
    if embedding == "SE":
        return base * factor, 1
    if embedding == "ME":
        return base, factor
    raise ConfigError(f"embedding must be one of {', '.join(EMBEDDINGS)}, got {embedding!r}")


def parameter_table(field_dims: Sequence[int], models: Sequence[str] = PAPER_MODELS,
                    scales: Sequence[str | int] = tuple(SIZE_PRESETS)) -> pd.DataFrame:
    """Parameter counts of every model at every size, SE and ME (ME at 1x is SE, left out).

    Models are built on PyTorch's ``meta`` device, so no memory is allocated.

    Returns:
        One row per (model, embedding, scale) with columns model, embedding, scale, embed_dim,
        num_sets, embedding_parameters, other_parameters, parameters.
    """
    rows = []
    for name in models:
        for embedding in EMBEDDINGS:
            for scale in scales:
                if embedding == "ME" and scale_factor(scale) == 1:
                    continue
                k, m = size_preset(name, scale, embedding)
                with torch.device("meta"):
                    model = build_model(name, field_dims, embed_dim=k, num_sets=m)
                total = count_parameters(model)
                emb = model.embedding.embedding.weight.numel()
                rows.append({"model": name, "embedding": embedding,
                             "scale": f"{scale_factor(scale)}x", "embed_dim": k, "num_sets": m,
                             "embedding_parameters": emb, "other_parameters": total - emb,
                             "parameters": total})
    return pd.DataFrame(rows)
