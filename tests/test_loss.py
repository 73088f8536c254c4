"""The training loss as a setting (issue 21): ours (BCEWithLogitsLoss) by default, the authors'
(BCELoss on the sigmoid) on request; they differ where the sigmoid saturates in float32."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from embcollapse.config import (ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig,
                                from_dict, load_profile, replace, to_dict)
from embcollapse.identity import hash_identity, resolve
from embcollapse.report import loss_line
from embcollapse.train import AuthorsBCELoss, fit, loss_function


def gradient(name: str, logit: float, label: float) -> tuple[float, float]:
    """The loss and its gradient with respect to one float32 logit."""
    z = torch.tensor([logit], dtype=torch.float32, requires_grad=True)
    loss = loss_function(name)(z, torch.tensor([label]))
    loss.backward()
    return float(loss.detach()), float(z.grad[0])


@pytest.mark.parametrize("logit", [16.7, 17.0, 20.0, 50.0])
def test_label_0_at_a_saturated_logit_theirs_gives_no_gradient_ours_gives_1(logit) -> None:
    assert torch.sigmoid(torch.tensor(logit)) == 1.0          # float32 rounds it to exactly 1
    loss, grad = gradient("authors-bce", logit, 0.0)
    assert (loss, grad) == (100.0, 0.0)                         # torch clamps log(0) to -100
    loss, grad = gradient("bce-logits", logit, 0.0)
    assert loss == pytest.approx(logit) and grad == pytest.approx(1.0, abs=1e-6)


def test_below_saturation_the_two_losses_agree() -> None:
    for logit, label in ((3.0, 0.0), (-2.0, 1.0), (0.0, 1.0), (-16.0, 1.0), (8.0, 1.0)):
        theirs, ours = gradient("authors-bce", logit, label), gradient("bce-logits", logit, label)
        assert theirs == pytest.approx(ours, rel=1e-3, abs=1e-6), (logit, label)
    # just below saturation their loss is already off (1 - sigmoid in float32), not the gradient
    (theirs, g_theirs), (ours, g_ours) = (gradient(n, 16.5, 0.0) for n in ("authors-bce",
                                                                           "bce-logits"))
    assert g_theirs == pytest.approx(g_ours, abs=1e-6) and abs(theirs - ours) > 0.5


def test_label_1_saturates_only_where_the_sigmoid_underflows_to_0() -> None:
    assert torch.sigmoid(torch.tensor(-90.0)) == 0.0
    assert gradient("authors-bce", -90.0, 1.0) == (100.0, 0.0)
    loss, grad = gradient("bce-logits", -90.0, 1.0)
    assert loss == pytest.approx(90.0) and grad == pytest.approx(-1.0)


def test_a_batch_mean_loses_the_saturated_rows_gradient_only() -> None:
    z = torch.tensor([20.0, 1.0], requires_grad=True)
    AuthorsBCELoss()(z, torch.tensor([0.0, 0.0])).backward()
    assert z.grad[0] == 0.0 and z.grad[1] == pytest.approx(torch.sigmoid(torch.tensor(1.0)) / 2)


def test_the_loss_is_checked_where_it_enters(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.loss must be 'bce-logits' .* or "
                                          r"'authors-bce' .*, got 'bce'"):
        from_dict(TrainConfig, {"loss": "bce"}, "train")
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"train": {"loss": "mse"}}))
    with pytest.raises(ConfigError, match=rf"{path}.train.loss must be .*got 'mse'"):
        load_profile(path)
    path.write_text(yaml.safe_dump({"train": {"loss": "authors-bce"}}))
    assert load_profile(path).train.loss == "authors-bce"


def test_the_default_loss_leaves_every_dict_and_run_id_as_before() -> None:
    assert "loss" not in to_dict(TrainConfig())
    assert to_dict(TrainConfig(loss="authors-bce"))["loss"] == "authors-bce"
    assert replace(TrainConfig(loss="authors-bce"), {"lr": 0.01}).loss == "authors-bce"
    ours = RunConfig(model=ModelConfig(name="dnn"), train=TrainConfig(max_epochs=2), seed=1)
    theirs = RunConfig(model=ours.model, train=TrainConfig(max_epochs=2, loss="authors-bce"),
                       seed=1)
    ids = [hash_identity(to_dict(resolve(c)), "0" * 64, 2) for c in (ours, theirs)]
    assert ids[0] != ids[1]
    # a train configuration spelled out with the default is the one without it
    assert to_dict(from_dict(TrainConfig, {"max_epochs": 2, "loss": "bce-logits"})) == \
        to_dict(TrainConfig(max_epochs=2))


def test_a_run_trains_with_the_authors_loss_and_its_record_says_so(one_thread) -> None:
    config = RunConfig(data=DataConfig(preset="tiny", rows=3_000),
                       model=ModelConfig(name="dnn", embed_dim=4, hyper={"mlp_dims": [8]}),
                       train=TrainConfig(batch_size=512, max_epochs=1, loss="authors-bce"))
    record = fit(config, device="cpu", progress=False).record
    assert record["config"]["train"]["loss"] == "authors-bce"
    assert from_dict(RunConfig, record["config"], "run").train.loss == "authors-bce"
    assert record["history"][0]["train_loss"] > 0


def test_every_page_says_which_loss_ran() -> None:
    assert "`BCEWithLogitsLoss`" in loss_line(TrainConfig()) and \
        "authors-bce" in loss_line(TrainConfig())
    assert loss_line(TrainConfig(loss="authors-bce")).startswith("Loss: the authors' `BCELoss`")
