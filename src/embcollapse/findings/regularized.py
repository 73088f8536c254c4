"""Chapters "Evidence III" (regularised DCNv2: Figures 6 and 16) and "Evidence IV" (DNN:
Figure 6)."""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from . import paper
from .base import AUC_RESOLUTION, Check, Finding, auc_check, finding, signed_with_interval


def figure_6_regularized(by_size: pd.DataFrame, run_ids: Iterable[str] = (),
                         auc_difference: Any = None) -> Finding:
    """With the orthogonality penalty IA is higher at every size, yet AUC does not grow.

    Args:
        by_size: index K, columns ``(metric, model)`` for metric in ``test_auc``, ``mean_ia``
            and model in ``dcnv2``, ``dcnv2-reg`` (means over seeds).
        auc_difference: the paired difference AUC(largest K) - AUC(smallest K) of the
            regularised model over the same test rows and seeds; its interval decides.
    Checks: regularised minus plain mean IA > 0 at each K; regularised AUC change from the
    smallest to the largest K < ``AUC_RESOLUTION``.
    """
    ks = sorted(by_size.index)
    ia_gain = by_size[("mean_ia", "dcnv2-reg")] - by_size[("mean_ia", "dcnv2")]
    checks = [Check(f"mean IA, regularised minus plain, K={k}", float(ia_gain[k]), 0.0, ">")
              for k in ks]
    auc = by_size[("test_auc", "dcnv2-reg")]
    gain = float(auc[ks[-1]] - auc[ks[0]])
    checks.append(auc_check(f"regularised AUC change K={ks[0]} to {ks[-1]}", gain,
                            AUC_RESOLUTION, "<", auc_difference))
    return finding("Figure 6 (regularized DCNv2)",
                   f"IA higher with the penalty at {int((ia_gain > 0).sum())}/{len(ks)} sizes; "
                   f"regularised AUC change from K={ks[0]} to K={ks[-1]}: "
                   f"{signed_with_interval(gain, auc_difference)}",
                   "IA higher at every size, AUC still not growing (plotted only)", checks,
                   run_ids=run_ids)


def figure_16(mean_sub_ia_regularized: float, mean_sub_ia_plain: float,
              run_ids: Iterable[str] = ()) -> Finding:
    """Regularised DCNv2 has richer sub-embeddings (mean over the heat map)."""
    diff = mean_sub_ia_regularized - mean_sub_ia_plain
    return finding("Figure 16", f"mean sub-embedding IA {mean_sub_ia_regularized:.2f} "
                   f"(regularised) vs {mean_sub_ia_plain:.2f}",
                   "brighter heat map with the penalty (plotted only)",
                   [Check("mean sub-embedding IA, regularised minus plain", diff, 0.0, ">")],
                   run_ids=run_ids)


def figure_6_dnn(normalized_ia: pd.Series, dnn_auc_by_k: pd.Series, dataset: str = "criteo",
                 run_ids: Iterable[str] = (), auc_difference: Any = None) -> Finding:
    """DNN is less collapsed than DCNv2, yet its AUC does not grow with K.

    Args:
        normalized_ia: model -> mean IA / random IA (``dnn`` and ``dcnv2``).
        dnn_auc_by_k: K -> DNN's mean test AUC.
        auc_difference: paired DNN AUC(largest K) - AUC(smallest K); its interval decides.
    """
    dnn = dnn_auc_by_k.sort_index()
    gain = float(dnn.iloc[-1] - dnn.iloc[0])
    checks = [Check("normalised IA, DNN minus DCNv2",
                    float(normalized_ia["dnn"] - normalized_ia["dcnv2"]), 0.0, ">"),
              auc_check(f"DNN AUC change K={dnn.index[0]} to {dnn.index[-1]}", gain,
                        AUC_RESOLUTION, "<", auc_difference)]
    ref = paper.auc_change(dataset, "SE", 1, 10)
    return finding("Figure 6 (DNN)", f"normalised IA DNN {normalized_ia['dnn']:.2f} vs DCNv2 "
                   f"{normalized_ia['dcnv2']:.2f}; DNN AUC change over K "
                   f"{signed_with_interval(gain, auc_difference)}",
                   f"DNN less collapsed (plotted only); SE AUC change 1x to 10x: "
                   f"{paper.signed(ref[ref.index.isin(['dnn', 'dcnv2'])])}", checks,
                   run_ids=run_ids)
