"""Evidence II: the toy experiment of the interaction-collapse law (paper Figure 4, Appendix G).

Three fields interact FM-style, ``logit = <e1, e2> + <e1, e3> + <e2, e3>``. Every pair
``(x1, x2)`` of the first two fields is one sample; ``x3`` is drawn uniformly from ``d3`` values
and the label is a fair coin, so the data seen through ``(x1, x2)`` is the same whatever ``d3``
is (*inferred*: the paper does not state how x3 and the labels are drawn). All tables start
N(0, 1); ``E2`` and ``E3`` stay fixed and only ``E1`` trains, full-batch SGD on the mean binary
cross-entropy. A small ``d3`` gives ``E3`` a low information abundance, and the paper's finding
is that ``E1`` then collapses more than with a large ``d3``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from ..progress import tqdm

from .spectrum import information_abundance


@dataclass(frozen=True)
class ToyConfig:
    """Settings of the toy experiment; the paper leaves d1, d2 and K open (*inferred*)."""

    d1: int = 100
    d2: int = 100
    d3: int = 3
    embed_dim: int = 16
    iterations: int = 5000
    lr: float = 1.0
    seed: int = 0
    record_every: int = 25


@dataclass
class ToyResult:
    """IA of E1 over iterations, the final tables, and the gradient's spectral split."""

    iterations: np.ndarray        # (T,) iteration numbers where IA was recorded
    ia_e1: np.ndarray             # (T,) IA(E1)
    loss: np.ndarray              # (T,) training loss
    tables: dict[str, np.ndarray]  # E1 (final), E1_init, E2, E3
    ia_partners: dict[str, float]  # IA of E2 and E3
    gradient_share: np.ndarray    # (K,) share of ||grad E1||^2 along each right singular
                                  # direction of E3 (descending singular value), at init


def _tables(cfg: ToyConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """E1, E2 fixed for a seed (so both cases start from the same E1 and E2), E3 of d3 rows."""
    gen = torch.Generator().manual_seed(cfg.seed)
    e1 = torch.randn(cfg.d1, cfg.embed_dim, generator=gen, dtype=torch.float64)
    e2 = torch.randn(cfg.d2, cfg.embed_dim, generator=gen, dtype=torch.float64)
    gen3 = torch.Generator().manual_seed(cfg.seed + 7919)
    e3 = torch.randn(cfg.d3, cfg.embed_dim, generator=gen3, dtype=torch.float64)
    return e1, e2, e3


def _samples(cfg: ToyConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """All (x1, x2) pairs, x3 uniform in [0, d3), labels fair coins: four (d1*d2,) tensors."""
    gen = torch.Generator().manual_seed(cfg.seed + 104729)
    x1, x2 = torch.meshgrid(torch.arange(cfg.d1), torch.arange(cfg.d2), indexing="ij")
    n = cfg.d1 * cfg.d2
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    x3 = torch.clamp((u * cfg.d3).long(), max=cfg.d3 - 1)   # the same u for every d3
    y = (torch.rand(n, generator=gen, dtype=torch.float64) < 0.5).double()
    return x1.reshape(-1), x2.reshape(-1), x3, y


def toy_loss(e1: torch.Tensor, e2: torch.Tensor, e3: torch.Tensor, x1: torch.Tensor,
             x2: torch.Tensor, x3: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean BCE of the FM logit sum_{i<j} <e_i, e_j> over the samples."""
    a, b, c = e1[x1], e2[x2], e3[x3]
    logit = (a * b).sum(-1) + (a * c).sum(-1) + (b * c).sum(-1)
    return F.binary_cross_entropy_with_logits(logit, y)


def gradient_share(grad: torch.Tensor, partner: torch.Tensor) -> np.ndarray:
    """Share of ``||grad||_F^2`` along each right singular direction of ``partner``.

    Args:
        grad: (D1, K) gradient of the loss with respect to E1.
        partner: (D, K) a partner table.
    Returns:
        (K,) shares, ordered by the partner's singular values (largest first); they sum to 1.
        Directions beyond the partner's rank share its null space.
    """
    _, _, vh = torch.linalg.svd(partner, full_matrices=True)   # rows of vh: directions in R^K
    energy = (grad @ vh.T).pow(2).sum(0)
    return (energy / energy.sum()).numpy()


def run_toy(cfg: ToyConfig, progress: bool = True) -> ToyResult:
    """Train E1 alone with full-batch SGD and record IA(E1) every ``record_every`` iterations."""
    e1, e2, e3 = _tables(cfg)
    x1, x2, x3, y = _samples(cfg)
    e1_init = e1.clone()
    e1.requires_grad_(True)
    steps, ias, losses = [], [], []
    share = None
    for it in tqdm(range(cfg.iterations + 1), desc=f"toy d3={cfg.d3}", disable=not progress,
                   leave=False):
        loss = toy_loss(e1, e2, e3, x1, x2, x3, y)
        (grad,) = torch.autograd.grad(loss, e1)
        if it == 0:
            share = gradient_share(grad, e3)
        if it % cfg.record_every == 0 or it == cfg.iterations:
            steps.append(it)
            ias.append(information_abundance(e1.detach()))
            losses.append(loss.item())
        if it < cfg.iterations:
            with torch.no_grad():
                e1 -= cfg.lr * grad
    return ToyResult(
        iterations=np.array(steps), ia_e1=np.array(ias), loss=np.array(losses),
        tables={"E1": e1.detach().numpy(), "E1_init": e1_init.numpy(), "E2": e2.numpy(),
                "E3": e3.numpy()},
        ia_partners={"E2": information_abundance(e2), "E3": information_abundance(e3)},
        gradient_share=share)
