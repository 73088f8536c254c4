"""Beyond the paper: "Is multi-embedding more than an ensemble?" (the chapter on Table 1).

The paper credits multi-embedding's gain to tables that collapse less; it never puts beside ME
the control of M single-embedding models of size K trained apart and averaged (same embedding
parameters). Two paired AUC differences per model decide between the readings:
ME - ensemble and ensemble - SE (SE of the same total size M*K), each classified by the rules
the book uses for every AUC claim (:func:`~.base.auc_claim`: a direction against zero, an
equivalence against ``AUC_MARGIN``).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from .base import Finding, auc_claim, finding, not_run, signed_with_interval

KEY = "Ensemble control"

# (ME - ensemble, ensemble - SE) -> what it means; "*" matches any side
READINGS: tuple[tuple[str, str, str], ...] = (
    ("higher", "*", "more than an ensemble: ME beats M independently trained SE-K models"),
    ("lower", "*", "the ensemble beats ME: averaging separately trained models does better"),
    ("same", "higher", "the gain is ensembling: ME matches the ensemble and both beat SE"),
    ("same", "same", "no gain to explain: ME, the ensemble and SE are within the margin"),
    ("same", "lower", "ME matches an ensemble that is below SE: neither gains"),
)
UNRESOLVED = "not resolved: an interval holds zero and crosses the margin (or one seed)"


def side(name: str, measured: float, difference: Any = None) -> str:
    """Where a paired AUC difference lies by the book's AUC rules: ``higher`` (its interval
    wholly above 0), ``lower`` (wholly below 0), ``same`` (neither, and wholly within
    +-``AUC_MARGIN``), or ``unresolved`` (one seed, no interval, or an interval holding 0 that
    crosses the margin)."""
    for claim, label in (("better", "higher"), ("worse", "lower"), ("no change", "same")):
        if auc_claim(name, measured, claim, difference).outcome == "holds":
            return label
    return "unresolved"


def reading(me_vs_ensemble: str, ensemble_vs_se: str) -> str:
    """The reading of two sides (:func:`side`), from :data:`READINGS`."""
    for a, b, text in READINGS:
        if a == me_vs_ensemble and b in ("*", ensemble_vs_se):
            return text
    return UNRESOLVED


def _value(difference: Any) -> float:
    return math.nan if difference is None else float(difference.diff)


def ensemble_control(me_minus_ensemble: Mapping[str, Any], ensemble_minus_se: Mapping[str, Any],
                     members: int, run_ids: Iterable[str] = ()) -> Finding:
    """Is ME more than an ensemble of its size?

    Args:
        me_minus_ensemble: model -> paired AUC(ME with ``members`` sets of K) - AUC(ensemble of
            ``members`` SE models of K) (an :class:`~embcollapse.intervals.Difference` over
            seeds, or None when the runs cannot be paired).
        ensemble_minus_se: model -> paired AUC(ensemble) - AUC(SE with K * ``members``).
        members: M.
    Checks, per model: ME - ensemble "better" (a direction claim: the interval over seeds
    wholly above 0): the paper's reading, that ME's gain
    comes from its tables and not from averaging M models, predicts it. Ensemble - SE is
    reported and read (:func:`reading`), not checked.
    """
    models = [m for m in me_minus_ensemble if m in ensemble_minus_se]
    if not models:
        return not_run(KEY, "no ensemble run with its ME and SE in this build")
    checks = [auc_claim(f"{m}: ME with {members} sets of K minus the ensemble of {members} "
                        f"SE models of K",
                        _value(me_minus_ensemble[m]), "better", me_minus_ensemble[m])
              for m in models]
    sides = {m: (side("ME - ensemble", _value(me_minus_ensemble[m]), me_minus_ensemble[m]),
                 side("ensemble - SE", _value(ensemble_minus_se[m]), ensemble_minus_se[m]))
             for m in models}
    readings = {m: reading(*sides[m]) for m in models}

    def signed(d: Any) -> str:
        return "n/a" if d is None else signed_with_interval(float(d.diff), d)

    ours = "; ".join(f"{m}: ME - ensemble {signed(me_minus_ensemble[m])}, ensemble - SE "
                     f"{signed(ensemble_minus_se[m])} ({readings[m]})" for m in models)
    return finding(KEY, ours,
                   "no such control in the paper; its reading (ME's gain comes from tables that "
                   "collapse less) predicts ME above an ensemble of M SE-K models",
                   checks, values={"me_minus_ensemble": {m: _value(me_minus_ensemble[m])
                                                         for m in models},
                                   "ensemble_minus_se": {m: _value(ensemble_minus_se[m])
                                                         for m in models},
                                   "readings": readings, "members": members},
                   run_ids=run_ids)
