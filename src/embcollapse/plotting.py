"""One figure style for every chapter, and the provenance line every figure carries."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import seaborn as sns

SE_COLOR, ME_COLOR, RANDOM_COLOR, PAPER_COLOR = "#1f77b4", "#d62728", "#7f7f7f", "#2ca02c"


def use_style() -> None:
    """The book's matplotlib style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "figure.figsize": (7.5, 4.2),
                         "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5,
                         "figure.constrained_layout.use": True})


def provenance(profile: str, data: str, seeds: Sequence[int], device: str,
               extra: str = "") -> str:
    """The line that says what produced a figure or table."""
    text = (f"Produced by embcollapse, profile '{profile}', data: {data}, "
            f"seeds {list(seeds)}, device {device}")
    return f"{text}; {extra}" if extra else text


def stamp(fig: plt.Figure, text: str) -> plt.Figure:
    """Write the provenance line under a figure."""
    fig.text(0.5, -0.01, text, ha="center", va="top", fontsize=7.5, color="#555555", wrap=True)
    return fig


def metric_vs_size(ax: plt.Axes, summary, label_col: str = "model", size_col: str = "embed_dim",
                   **style) -> plt.Axes:
    """Mean +- std of a metric against size, one line per ``label_col`` value.

    Args:
        summary: a frame with columns ``label_col``, ``size_col``, ``mean``, ``std``
            (``embcollapse.report.mean_std``).
    """
    for name, part in summary.groupby(label_col):
        part = part.sort_values(size_col)
        ax.errorbar(part[size_col], part["mean"], yerr=part["std"], marker="o", capsize=3,
                    label=str(name), **style)
    sizes = sorted(summary[size_col].unique())
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    return ax


def paper_single_embedding_auc(ax: plt.Axes, paper, highlight: Sequence[str],
                               dataset: str = "criteo") -> plt.Axes:
    """The paper's single-embedding test AUC against embedding size (its Tables 1, 5, 6).

    Args:
        paper: ``embcollapse.report.paper_table("table1_auc")``.
        highlight: model names (any case) drawn solid; the others are drawn faint.
    """
    rows = paper[(paper.dataset == dataset) & (paper.embedding == "SE")].copy()
    rows["factor"] = rows.scale.str.rstrip("x").astype(int)
    wanted = {h.lower() for h in highlight}
    for name, part in rows.groupby("model"):
        ax.errorbar(part.factor * 10, part.test_auc_mean, yerr=part.test_auc_std, marker="o",
                    capsize=3, alpha=1.0 if name.lower() in wanted else 0.25, label=name)
    ax.set(xscale="log", xlabel="embedding size K (base 10 x scale; NFwFM's base is 50)",
           ylabel="test AUC", title=f"Paper: single embedding on {dataset.capitalize()}")
    ax.set_xticks([10, 20, 30, 40, 100], ["10", "20", "30", "40", "100"])
    ax.minorticks_off()
    ax.legend(ncol=2)
    return ax


def training_curves(ax_loss: plt.Axes, ax_auc: plt.Axes, records, label) -> None:
    """Per-epoch training loss and validation AUC of runs; the best epoch is marked.

    Args:
        records: run records (``history`` with ``train_loss`` and ``valid_auc`` per epoch).
        label: function record -> legend label.
    """
    palette = sns.color_palette("viridis", len(records))
    for color, r in zip(palette, records):
        epochs = [h["epoch"] for h in r["history"]]
        ax_loss.plot(epochs, [h["train_loss"] for h in r["history"]], marker=".", color=color,
                     label=label(r))
        ax_auc.plot(epochs, [h["valid_auc"] for h in r["history"]], marker=".", color=color,
                    label=label(r))
        best = r["best_epoch"]
        ax_auc.plot([best], [r["history"][best - 1]["valid_auc"]], "*", color=color,
                    markersize=12)
    ax_loss.set(xlabel="epoch", ylabel="training loss (BCE)", title="Training loss")
    ax_auc.set(xlabel="epoch", ylabel="validation AUC", title="Validation AUC (star: best epoch)")
    ax_loss.legend()


def subembedding_heatmap(ax: plt.Axes, sub_ia, field_ia, names: Sequence[str],
                         vmax: float | None = None, colorbar: bool = True) -> plt.Axes:
    """Heat map of IA(E_i^{->j}), rows i and columns j both sorted by IA(E_i) ascending
    (paper Figure 3a). ``sub_ia`` is (N, N) with ``[i, j]`` = IA(E_i^{->j}); NaN cells blank."""
    import numpy as np

    order = np.argsort(np.asarray(field_ia))
    m = np.asarray(sub_ia, dtype=float)[np.ix_(order, order)]
    labels = [names[i] for i in order]
    sns.heatmap(m, ax=ax, cmap="viridis", vmin=1.0, vmax=vmax, cbar=colorbar,
                xticklabels=labels, yticklabels=labels, cbar_kws={"label": "IA(E_i -> j)"})
    ax.set(xlabel="field j (sorted by IA(E_j))", ylabel="field i (sorted by IA(E_i))")
    ax.tick_params(labelsize=6)
    return ax


def marginal_scatter(ax_rows: plt.Axes, ax_cols: plt.Axes, marg, paper_r: float | None = None
                     ) -> None:
    """Figure 3b/3c: sum_j IA(E_i^{->j}) against IA(E_i), and sum_i IA(E_i^{->j}) against IA(E_j).

    Args:
        marg: ``embcollapse.analysis.subembedding.Marginals``.
        paper_r: the Pearson correlation the paper reports for the 3c panel, if any.
    """
    ax_rows.scatter(marg.field_ia, marg.row_sum)
    ax_rows.set(xlabel="IA(E_i)", ylabel="sum over j of IA(E_i -> j)",
                title=f"Sub-embeddings of field i (Pearson r = {marg.pearson_row:.2f})")
    ax_cols.scatter(marg.field_ia, marg.col_sum, color=ME_COLOR)
    paper = f"; paper: {paper_r:.2f}" if paper_r is not None else ""
    ax_cols.set(xlabel="IA(E_j)", ylabel="sum over i of IA(E_i -> j)",
                title=f"Interacting with field j (r = {marg.pearson_col:.2f}{paper})")
