"""The paper's reported numbers, read from its CSV tables (``book/data/paper``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import paths


def paper_table(name: str) -> pd.DataFrame:
    """A table of the paper's reported numbers, e.g. ``paper_table("table1_auc")``."""
    path = paths.paper_data_dir() / f"paper_{name}.csv"
    return pd.read_csv(path, comment="#")


def paper_auc(dataset: str = "criteo") -> pd.DataFrame:
    """The paper's test AUC (Tables 1, 5, 6 and 7) as model, embedding, scale, mean, std.

    Model names are the registry's (lower case); ``scale`` is the integer N of "Nx".
    """
    t1 = paper_table("table1_auc")
    t1 = t1[t1.dataset == dataset].rename(columns={"test_auc_mean": "mean",
                                                  "test_auc_std": "std"})
    parts = [t1[["model", "embedding", "scale", "mean", "std"]]]
    if dataset == "criteo":
        t7 = paper_table("table7_autoint").rename(columns={"test_auc": "mean"})
        t7["std"] = np.nan
        parts.append(t7[["model", "embedding", "scale", "mean", "std"]])
    out = pd.concat(parts, ignore_index=True)
    out["model"] = out["model"].str.lower()
    out["scale"] = out["scale"].str.rstrip("x").astype(int)
    return out
