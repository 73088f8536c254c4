"""Model registry: ``build_model(name, field_dims, embed_dim, num_sets, **hyper)``.

Each architecture is one class whose constructor takes the number of embedding sets; its
keyword defaults are the paper's hyper-parameters. An unknown hyper-parameter is an error that
names it and lists the known ones.
"""
from __future__ import annotations

import inspect
from typing import Any, Sequence

from torch import nn

from ..config import ConfigError, ModelConfig
from .base import MultiEmbeddingModel
from .dcnv2 import DCNv2
from .dnn import DNN

MODELS: dict[str, type[nn.Module]] = {
    "dcnv2": DCNv2,
    "dnn": DNN,
}

# Size presets (paper Section 5.2): name -> (K multiplier for SE, number of sets for ME).
SIZE_PRESETS: dict[str, int] = {"1x": 1, "2x": 2, "3x": 3, "4x": 4, "10x": 10}


def hyper_parameters(name: str) -> dict[str, Any]:
    """The hyper-parameters a model accepts, with their defaults."""
    cls = _model_class(name)
    sig = inspect.signature(cls.__init__)
    return {k: p.default for k, p in sig.parameters.items()
            if k not in ("self", "field_dims", "embed_dim", "num_sets")}


def _model_class(name: str) -> type[nn.Module]:
    if name not in MODELS:
        raise ConfigError(f"model.name: unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                **hyper: Any) -> nn.Module:
    """Build a registered model; ``hyper`` overrides the paper's defaults."""
    known = hyper_parameters(name)
    unknown = sorted(set(hyper) - set(known))
    if unknown:
        raise ConfigError(f"model.hyper: unknown hyper-parameter(s) {', '.join(unknown)} for "
                          f"{name}; known: {', '.join(known)}")
    return _model_class(name)(field_dims, embed_dim=embed_dim, num_sets=num_sets, **hyper)


def model_from_config(config: ModelConfig, field_dims: Sequence[int]) -> nn.Module:
    """Build the model a :class:`ModelConfig` describes."""
    return build_model(config.name, field_dims, config.embed_dim, config.num_sets,
                       **dict(config.hyper))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["MODELS", "SIZE_PRESETS", "MultiEmbeddingModel", "DCNv2", "DNN", "build_model",
           "model_from_config", "hyper_parameters", "count_parameters"]
