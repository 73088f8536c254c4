"""Array-task functions for tests/test_slurm.py, importable inside a Slurm task (the test puts
this folder on the task's PYTHONPATH)."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any


FAILURE = "seed 2's training fails inside its task (tests/slurm_tasks.py)"


def fail_seed_2(config: dict[str, Any], store_root: str, device: str) -> dict[str, Any]:
    """:func:`embcollapse.sweep.train_one`, but the run of seed 2 raises :data:`FAILURE` inside
    its training (a valid run that fails where only the task can see it: the store notes it)."""
    import embcollapse.train as train
    from embcollapse.sweep import train_one

    if config["seed"] == 2:
        def failing_fit(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(FAILURE)

        train.fit = failing_fit
    return train_one(config, store_root, device)


def pause_in_save(config: dict[str, Any], store_root: str, device: str) -> dict[str, Any]:
    """:func:`fail_seed_2`, but the run of seed 1 stops inside its save, after its files are
    written and before the folder is renamed into place (it writes the temporary folder's path
    to ``$EMBCOLLAPSE_TEST_SAVING`` and sleeps), so a test can cancel it there."""
    import embcollapse.results as results

    if config["seed"] == 1:
        real = results.atomic_directory

        @contextmanager
        def paused(final, kind, known):
            with real(final, kind, known) as tmp:
                yield tmp
                Path(os.environ["EMBCOLLAPSE_TEST_SAVING"]).write_text(str(tmp))
                time.sleep(600)

        results.atomic_directory = paused
    return fail_seed_2(config, store_root, device)
