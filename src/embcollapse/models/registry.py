"""Model registry: ``build_model(name, field_dims, embed_dim, num_sets, **hyper)``.

Each architecture is one class whose constructor takes the number of embedding sets and whose
keyword defaults are the paper's hyper-parameters. A registry entry is a class plus the defaults
that make a variant (``dcnv2-reg`` is DCNv2 with ``orthogonal_weight=1e-5``). An unknown
hyper-parameter is an error that names it and lists the known ones.
"""
from __future__ import annotations

import inspect
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from torch import nn

from ..config import ConfigError, ModelConfig
from ..schema import require as _require
from .autoint import AutoInt
from .dcnv2 import DCNv2
from .dnn import DNN
from .ensemble import Ensemble
from .ffm import FFM
from .fm import FM, FwFM
from .finalmlp import FinalMLP
from .ipnn import IPNN
from .nfwfm import NFwFM
from .xdeepfm import XDeepFM

# constructor arguments every model takes positionally or as build_model's own arguments
_STRUCTURAL = ("self", "field_dims", "embed_dim", "num_sets")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its class, the defaults that make the variant, and one line."""

    cls: type[nn.Module]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


MODELS: dict[str, ModelSpec] = {
    "dnn": ModelSpec(DNN, {}, "DNN: concatenated embeddings into an MLP"),
    "ipnn": ModelSpec(IPNN, {}, "IPNN as the authors' code: embeddings and field-pair inner "
                      "products into the MLP (SE); inner products only into each set's "
                      "projection (ME)"),
    "nfwfm": ModelSpec(NFwFM, {}, "NFwFM as the authors' code: W_ij e_i*e_j pooled over all "
                       "ordered pairs, i = j included, into an MLP"),
    "xdeepfm": ModelSpec(XDeepFM, {}, "xDeepFM: CIN (16, 16) beside a DNN"),
    "dcnv2": ModelSpec(DCNv2, {}, "DCNv2: 4 full-rank cross layers under an MLP"),
    "finalmlp": ModelSpec(FinalMLP, {}, "FinalMLP as the authors' code: two MLP streams, "
                          "bilinear fusion, no feature-selection gate"),
    "autoint": ModelSpec(AutoInt, {}, "AutoInt as the authors' afi.py: 3 scaled multi-head "
                         "attention layers with LayerNorm over fields"),
    "dcnv2-reg": ModelSpec(DCNv2, {"orthogonal_weight": 1e-5},
                           "DCNv2 with blocks lambda*Q pushed to orthogonal (Evidence III)"),
    "dcnv2-shared": ModelSpec(DCNv2, {"share_interaction": True, "share_projection": True},
                              "ME-DCNv2 with one cross network and one projection shared by "
                              "all sets, as the authors' ablation (Fig. 10c)"),
    "dcnv2-shared-cross": ModelSpec(DCNv2, {"share_interaction": True},
                                    "ME-DCNv2 with one cross network shared by all sets and a "
                                    "projection per set (milder than Fig. 10c's ablation)"),
    "dcnv2-agree": ModelSpec(DCNv2, {"agreement_weight": 1.0},
                             "ME-DCNv2 with sets' interaction patterns pulled together (Fig. 10d)"),
    "dcnv2-linear": ModelSpec(DCNv2, {"projection": "linear"},
                              "DCNv2 with a linear per-set projection (Appendix E)"),
    "dnn-linear": ModelSpec(DNN, {"projection": "linear"},
                            "DNN with a linear per-set projection (Appendix E)"),
    "ipnn-with-embeddings": ModelSpec(IPNN, {"product_only": False},
                                      "IPNN whose ME sets also feed their embeddings to the "
                                      "projection (IPNN's design; SE and ME differ only in sets)"),
    "nfwfm-upper": ModelSpec(NFwFM, {"pairs": "upper"},
                             "NFwFM with FwFM's pooling: pairs i < j, weights starting at 1"),
    "finalmlp-gated": ModelSpec(FinalMLP, {"feature_selection_hidden": 800,
                                           "fusion_init": "xavier"},
                                "FinalMLP as its paper: feature-selection gates (800), W_xy "
                                "Xavier-normal"),
    "autoint-song": ModelSpec(AutoInt, {"interaction": "song"},
                              "AutoInt with the AutoInt paper's layers: unscaled attention, "
                              "residual projection, ReLU per layer"),
    "fm": ModelSpec(FM, {}, "FM: bias, first-order terms and pairwise inner products"),
    "fwfm": ModelSpec(FwFM, {}, "FwFM: FM with a learned weight per field pair"),
    "ffm": ModelSpec(FFM, {}, "FFM: one table per field and partner field (Appendix H)"),
}


def model_spec(name: str) -> ModelSpec:
    """The registry entry of ``name``."""
    if name not in MODELS:
        raise ConfigError(f"model.name: unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def _signature(name: str) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(model_spec(name).cls.__init__).parameters


def hyper_parameters(name: str) -> dict[str, Any]:
    """The hyper-parameters a registered model accepts, with its defaults."""
    spec = model_spec(name)
    params = {k: p.default for k, p in _signature(name).items() if k not in _STRUCTURAL}
    return {**params, **spec.defaults}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# A hyper-parameter's range when its declared type's default range does not fit it:
# name -> (check, what the value must be).
HYPER_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "dropout": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "attention_dropout": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "orthogonal_weight": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "agreement_weight": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "feature_selection_hidden": (lambda v: _is_int(v) and v >= 0,
                                 "an integer >= 0 (0: no feature-selection gate)"),
}
# The default range of each declared type: (check, what the value must be).
TYPE_RANGES: dict[Any, tuple[Callable[[Any], bool], str]] = {
    int: (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    float: (_is_number, "a finite number"),
    bool: (lambda v: isinstance(v, bool), "true or false"),
    str: (lambda v: isinstance(v, str), "a string"),
    Sequence[int]: (lambda v: isinstance(v, (list, tuple)) and all(_is_int(x) and x >= 1
                                                                   for x in v),
                    "a list of integers >= 1"),
}


def check_hyper(name: str, hyper: Mapping[str, Any]) -> None:
    """Check every value of ``hyper`` against the type model ``name``'s constructor declares
    for it (its annotation) and that type's range (:data:`TYPE_RANGES`), or its own range
    (:data:`HYPER_RANGES`); ``None`` only where the annotation allows it. Raises
    :class:`ConfigError` ``model.hyper.KEY must be RULE, got VALUE`` (unknown names too)."""
    known = hyper_parameters(name)
    unknown = sorted(set(hyper) - set(known))
    if unknown:
        raise ConfigError(f"model.hyper: unknown hyper-parameter(s) {', '.join(unknown)} for "
                          f"{name}; known: {', '.join(known)}")
    hints = typing.get_type_hints(model_spec(name).cls.__init__)
    for key, value in hyper.items():
        options = (typing.get_args(hints[key])
                   if typing.get_origin(hints[key]) in (typing.Union, types.UnionType)
                   else (hints[key],))
        declared = [t for t in options if t is not type(None)]
        optional = len(declared) < len(options)
        check, rule = HYPER_RANGES.get(key) or TYPE_RANGES[declared[0]]
        if optional:
            rule = f"{rule} or null"
        _require((optional and value is None) or check(value), f"model.hyper.{key}", rule,
                 value)


def check_model(config: ModelConfig) -> None:
    """A model configuration checked before any data loads: its name, every hyper-parameter's
    type and range (:func:`check_hyper`), and the model's own checks of choices and
    combinations (it is built once on two fields of two values, a few milliseconds;
    :class:`ConfigError` naming the setting). Torch's ``meta`` device would allocate nothing,
    but its first use costs about 2 s."""
    check_hyper(config.name, config.hyper)
    build_model(config.name, (2, 2), config.embed_dim, config.num_sets, **dict(config.hyper))


def resolved_hyper(name: str, hyper: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyper-parameter of model ``name``: the class's keyword defaults, then the registry
    variant's, then ``hyper``'s (an integer given for a float default becomes a float).
    Reads signatures only; builds nothing. Unknown names and values of the wrong type or
    range raise :class:`ConfigError` (:func:`check_hyper`)."""
    check_hyper(name, hyper)
    known = hyper_parameters(name)
    given = {k: float(v) if isinstance(known[k], float) and type(v) is int else v
             for k, v in hyper.items()}
    return {**known, **given}


def default_embed_dim(name: str) -> int:
    """The model's base embedding size (paper: 10; NFwFM 50)."""
    return int(_signature(name)["embed_dim"].default)


def build_model(name: str, field_dims: Sequence[int], embed_dim: int | None = None,
                num_sets: int = 1, **hyper: Any) -> nn.Module:
    """Build a registered model.

    Args:
        name: a key of :data:`MODELS`.
        field_dims: cardinality of each field.
        embed_dim: K; ``None`` takes the model's base size.
        num_sets: M (1 = single embedding).
        hyper: overrides of the paper's hyper-parameters; unknown names raise ConfigError.
    Returns:
        The model, in training mode.
    """
    spec = model_spec(name)
    k = default_embed_dim(name) if embed_dim is None else embed_dim
    return spec.cls(field_dims, embed_dim=k, num_sets=num_sets, **resolved_hyper(name, hyper))


def model_from_config(config: ModelConfig, field_dims: Sequence[int]) -> nn.Module:
    """Build the model a :class:`ModelConfig` describes; with ``ensemble`` M > 1, an
    :class:`~embcollapse.models.ensemble.Ensemble` of M such models built one after another
    (from the same generators, so each member starts from its own weights)."""
    def one() -> nn.Module:
        return build_model(config.name, field_dims, config.embed_dim, config.num_sets,
                           **dict(config.hyper))

    if config.ensemble > 1:
        return Ensemble([one() for _ in range(config.ensemble)])
    return one()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
