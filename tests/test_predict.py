"""``train.predict`` runs a CPU loader batch in parts of ``CPU_FORWARD_ROWS`` rows: every row's
probability, in order, as one forward pass over all rows gives it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from embcollapse import train
from embcollapse.data.loader import BatchLoader
from embcollapse.data.splits import Split
from embcollapse.models import build_model


@pytest.mark.parametrize("name", ["dcnv2", "autoint"])
def test_predict_in_parts_equals_one_forward(name):
    torch.manual_seed(0)
    field_dims = [7, 11, 5, 13]
    model = build_model(name, field_dims, embed_dim=4, num_sets=2)
    rng = np.random.default_rng(0)
    n = 2 * train.CPU_FORWARD_ROWS + 777          # parts of unequal size, more than one batch
    ids = np.stack([rng.integers(0, d, n) for d in field_dims], axis=1)
    split = Split(ids=ids, labels=rng.integers(0, 2, n).astype(np.int8))
    probs = train.predict(model, BatchLoader(split, 3 * train.CPU_FORWARD_ROWS))
    model.eval()
    with torch.no_grad():
        whole = torch.sigmoid(model(torch.from_numpy(ids).long())).double().numpy()
    assert probs.shape == (n,)
    np.testing.assert_allclose(probs, whole, rtol=1e-6, atol=1e-7)
