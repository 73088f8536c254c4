"""Run identity: which stored record a run configuration is.

A run's id is the first 12 hex digits of the SHA-256 of canonical JSON (sorted keys, no spaces)
of three parts, and its record stores all three:

1. ``config``: the *resolved* configuration, :func:`resolve`: the :class:`RunConfig` with every
   model hyper-parameter filled in (the class's keyword defaults, then the registry variant's,
   then the configuration's own), so a changed default (e.g. ``dcnv2-reg``'s
   ``orthogonal_weight``) is a new run. Of the data configuration only ``split_seed`` and
   ``fraction`` (which rows of the prepared data train) enter the hash; the other data fields
   say where the data is or how it was made, and that is what part 2 measures.
2. ``data_fingerprint``: :func:`~embcollapse.data.dataset.content_fingerprint` of the prepared
   data, read from its ``meta.json`` (field names and cardinalities, every array's dtype, shape
   and content SHA-256, hashed once when the data was prepared). It holds no path, so one
   prepared folder reached by two paths is one run; a changed raw file is prepared again (the
   staleness check of :mod:`embcollapse.data.prepare`) and, with other rows, is a new run.
3. ``semantics_version``: :data:`SEMANTICS_VERSION`.

Finding the fingerprint prepares the data if it is missing or stale, so a run can only be
identified where its data (raw or prepared) is. :func:`run_id` is the one way to name a run:
the results store, sweeps and notebooks (through the store) use it; grids only drop duplicate
configurations (:func:`resolved_key`, no data read). Records of an older id format are not
found and are trained again. Adding a hyper-parameter to a model class changes the resolved
configuration, and so the id, of every run of that class.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from .config import ModelConfig, RunConfig, to_dict

# Bump when what a run computes changes for the same configuration and data: a model's
# function or initialisation, the loss, optimiser, batching, early stopping, evaluation, or
# what a record measures. Every stored run then counts as missing and is trained again.
# 2: the authors' model functions and per-set embedding init (issue 14); the CPU dropout mask
#    drawn from 31-bit integers (issue 13), same distribution, other draws than nn.Dropout.
SEMANTICS_VERSION = 2

ID_LENGTH = 12
ROW_SELECTION = ("split_seed", "fraction")   # the data fields that are not in the fingerprint


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def resolve_hyper(name: str, hyper: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyper-parameter of model ``name`` with ``hyper`` applied, as JSON values (lists,
    not tuples): what a record's ``config.model.hyper`` holds. Reads the registry's class
    signatures and variant defaults; builds nothing."""
    from .models.registry import resolved_hyper

    return json.loads(json.dumps(resolved_hyper(name, hyper)))


def resolve_model(model: ModelConfig) -> ModelConfig:
    """``model`` with every hyper-parameter explicit."""
    return dataclasses.replace(model, hyper=resolve_hyper(model.name, model.hyper))


def resolve(config: RunConfig) -> RunConfig:
    """The run configuration with its model's defaults filled in."""
    return RunConfig(data=config.data, model=resolve_model(config.model), train=config.train,
                     seed=config.seed)


def hash_identity(config: Mapping[str, Any], data_fingerprint: str,
                  semantics_version: int) -> str:
    """The run id of a resolved configuration (a mapping, as stored in a record), the data's
    fingerprint and a semantics version."""
    data = config["data"]
    part = {**config, "data": {k: data[k] for k in ROW_SELECTION}}
    blob = canonical({"config": part, "data_fingerprint": data_fingerprint,
                      "semantics_version": semantics_version})
    return hashlib.sha256(blob.encode()).hexdigest()[:ID_LENGTH]


@dataclass(frozen=True)
class RunIdentity:
    """A run's id and the three parts it is the hash of (stored in its record)."""

    run_id: str
    config: dict[str, Any]         # the resolved configuration
    data_fingerprint: str
    semantics_version: int

    def record_fields(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "config": self.config,
                "data_fingerprint": self.data_fingerprint,
                "semantics_version": self.semantics_version}


def identify(config: RunConfig, data_fingerprint: str | None = None) -> RunIdentity:
    """The identity of ``config``; ``data_fingerprint`` of data already loaded, else found
    (and the data prepared if needed) from ``config.data``."""
    from .data.dataset import data_fingerprint as fingerprint_of

    resolved = to_dict(resolve(config))
    fingerprint = data_fingerprint if data_fingerprint is not None else \
        fingerprint_of(config.data)
    return RunIdentity(hash_identity(resolved, fingerprint, SEMANTICS_VERSION), resolved,
                       fingerprint, SEMANTICS_VERSION)


def run_id(config: RunConfig) -> str:
    """The id of a run: see the module docstring."""
    return identify(config).run_id


def resolved_key(config: RunConfig) -> str:
    """Canonical JSON of the whole resolved configuration: equal for configurations that are
    the same run whatever defaults they spell out (for removing duplicates without data)."""
    return canonical(to_dict(resolve(config)))
