"""The CPU dropout of the models (``layers.Dropout``): Bernoulli(1 - p) keeps, scaled by
1 / (1 - p), independent across elements and calls; identity in eval; gradients through the
kept elements only. Statistical checks use 5-sigma bounds on a million or more draws."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from embcollapse.models.layers import KEEP_BITS, Dropout, dropout_cpu, keep_threshold


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
def test_threshold_keeps_one_minus_p_within_float_precision(p):
    t = keep_threshold(p)
    assert abs((2 ** KEEP_BITS - t) / 2 ** KEEP_BITS - (1 - p)) <= 2.0 ** -32


def test_random_bits_are_uniform_over_31_bits():
    torch.manual_seed(0)
    bits = torch.empty(2_000_000, dtype=torch.int32).random_()
    assert int(bits.min()) >= 0
    # top 4 of the 31 bits: 16 equally likely bins; chi-square with 15 dof far below 60
    counts = torch.bincount((bits >> (KEEP_BITS - 4)).long(), minlength=16).double()
    assert len(counts) == 16
    expected = len(bits) / 16
    assert float(((counts - expected) ** 2 / expected).sum()) < 60
    # the low bits vary too (a generator of fewer bits would leave them constant)
    assert float((bits & 0xFF).double().std()) > 70


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_keep_rate_scale_and_mean(p):
    torch.manual_seed(1)
    x = torch.rand(1000, 2000) + 0.5
    out = dropout_cpu(x, p)
    kept = out != 0
    n = x.numel()
    rate = kept.double().mean().item()
    assert abs(rate - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    # E[out] = x: the mean ratio out/x is 1 within 5 sigma
    ratio = (out / x).double()
    assert abs(ratio.mean().item() - 1) < 5 * ratio.std().item() / math.sqrt(n)


def test_masks_are_independent_across_elements_and_calls():
    torch.manual_seed(2)
    x = torch.ones(1000, 1000)
    a = (dropout_cpu(x, 0.2) != 0).double()
    b = (dropout_cpu(x, 0.2) != 0).double()
    bound = 5 / math.sqrt(x.numel())
    for u, v in [(a, b), (a[:, 1:], a[:, :-1]), (a[1:], a[:-1])]:
        corr = torch.corrcoef(torch.stack([u.flatten(), v.flatten()]))[0, 1].item()
        assert abs(corr) < bound


def test_gradient_flows_through_kept_elements_only():
    torch.manual_seed(3)
    x = torch.randn(500, 300, requires_grad=True)
    out = dropout_cpu(x, 0.2)
    out.sum().backward()
    expected = (out != 0).float() / 0.8
    torch.testing.assert_close(x.grad, expected)


def test_module_is_identity_in_eval_and_matches_nn_dropout_interface():
    torch.manual_seed(4)
    layer = Dropout(0.2)
    assert isinstance(layer, nn.Dropout)
    x = torch.randn(64, 32)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    assert (layer(x) == 0).any()
    assert torch.equal(Dropout(0.0)(x), x)
    assert torch.equal(dropout_cpu(x, 1.0), torch.zeros_like(x))


def test_same_distribution_as_torch_dropout():
    """Keep rates of ours and F.dropout agree within 5 sigma of their difference."""
    torch.manual_seed(5)
    x = torch.ones(2000, 1000)
    ours = (dropout_cpu(x, 0.2) != 0).double().mean().item()
    torchs = (F.dropout(x, 0.2, True) != 0).double().mean().item()
    assert abs(ours - torchs) < 5 * math.sqrt(2 * 0.16 / x.numel())
