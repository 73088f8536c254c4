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
