"""An ensemble of independent models: the control of "is multi-embedding more than an ensemble?".

``model.ensemble = M`` (:class:`~embcollapse.config.ModelConfig`) builds M models of the same
configuration, one after another from the run's seeded generators (so their initial weights
differ), and serves the mean of their click probabilities:

    p(x) = (1/M) sum_m sigmoid(f_m(x))

Why probabilities: the paper's metric (test AUC, logloss) is computed on probabilities, and the
averaged probability is what an ensemble of separately trained CTR models serves. The geometric
alternative, averaging logits (sigmoid of the mean logit), weighs a confident member more and is
not what this control measures. :meth:`Ensemble.forward` returns the logit of the mean
probability, because every model's forward returns a logit and
:func:`embcollapse.train.predict` applies the sigmoid.

Training uses each member's own loss (:meth:`Ensemble.training_loss`: the sum of the members'
losses on the same batch), so every member gets exactly the gradient it would get trained
alone; Adam (and its weight decay) acts on each parameter by itself, so the members do not
interact through the optimiser either. What they share: the data and the order of the batches,
early stopping (one validation AUC, the ensemble's, picks one best epoch for all), and the
stream of random numbers their dropout masks are drawn from (each member's masks are as random
as alone, but not the ones it would draw alone).

Per field, :meth:`Ensemble.embedding_tables` gives the members' tables as multi-embedding gives
its sets, so the IA of the members side by side is computed exactly as ME's
(``field_ia_concat``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn


class Ensemble(nn.Module):
    """M independently trained models whose click probabilities are averaged.

    Args:
        members: the M models (each maps (B, N) value ids to (B,) logits).
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
        self.members = nn.ModuleList(members)

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N) value ids. Returns: (M, B) each member's logits."""
        return torch.stack([member(x) for member in self.members])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit of the mean click probability, (B,) float64 (computed in float64 so that
        its sigmoid is the members' mean probability to float64 rounding):
        log(mean_m sigmoid(z_m)) - log(mean_m sigmoid(-z_m)), each by a log-sum-exp."""
        z = self.member_logits(x).double()
        return (torch.logsumexp(nn.functional.logsigmoid(z), dim=0)
                - torch.logsumexp(nn.functional.logsigmoid(-z), dim=0))

    def mean_probability(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) float64: the mean over members of their click probabilities (what is served)."""
        return torch.sigmoid(self.member_logits(x).double()).mean(dim=0)

    def training_loss(self, x: torch.Tensor, labels: torch.Tensor,
                      loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
                      ) -> torch.Tensor:
        """The sum over members of each member's own loss on the batch: its gradient for a
        member's weights is that member's loss gradient alone. (A run's logged ``train_loss``
        is this sum.)"""
        return torch.stack([loss_fn(member(x), labels) for member in self.members]).sum()

    def regularization(self) -> torch.Tensor:
        """The sum of the members' penalties (each acts on its own member's weights)."""
        return torch.stack([member.regularization() for member in self.members]).sum()

    def embedding_tables(self) -> list[list[torch.Tensor]]:
        """The members' tables, [member (and set)][field] -> (D_i, K), detached: like ME's
        sets, so a field's tables side by side are the members' tables side by side."""
        return [tables for member in self.members for tables in member.embedding_tables()]

