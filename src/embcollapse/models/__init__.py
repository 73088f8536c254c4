"""The model zoo: every architecture of the paper, single- or multi-embedding, in one registry.

``build_model(name, field_dims, embed_dim, num_sets, **hyper)`` builds a registered model;
``size_preset`` maps the paper's 1x..10x sizes to (K, M); ``LoopReference`` runs a model's
embedding sets one after another (a check and a benchmark baseline for the batched code).
"""
from __future__ import annotations

from .autoint import AutoInt
from .base import MultiEmbeddingModel
from .dcnv2 import DCNv2
from .dnn import DNN
from .equivalence import linear_me_as_single
from .ffm import FFM
from .finalmlp import FinalMLP
from .fm import FM, FwFM
from .ipnn import IPNN
from .nfwfm import NFwFM
from .reference import LoopReference
from .registry import (MODELS, ModelSpec, build_model, count_parameters, default_embed_dim,
                       hyper_parameters, model_from_config, model_spec)
from .sizes import PAPER_MODELS, SIZE_PRESETS, parameter_table, scale_factor, size_preset
from .xdeepfm import XDeepFM

__all__ = ["MODELS", "SIZE_PRESETS", "PAPER_MODELS", "ModelSpec", "MultiEmbeddingModel",
           "AutoInt", "DCNv2", "DNN", "FFM", "FM", "FinalMLP", "FwFM", "IPNN", "NFwFM", "XDeepFM",
           "LoopReference", "linear_me_as_single", "build_model", "model_from_config",
           "model_spec", "hyper_parameters", "default_embed_dim", "count_parameters",
           "size_preset", "scale_factor", "parameter_table"]
