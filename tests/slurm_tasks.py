"""Array-task functions for tests/test_slurm.py, importable inside a Slurm task (the test puts
this folder on the task's PYTHONPATH)."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def pause_in_save(config: dict[str, Any], store_root: str, device: str) -> dict[str, Any]:
    """:func:`embcollapse.sweep.train_one`, but the run of seed 1 stops inside its save, after
    its files are written and before the folder is renamed into place (it writes the temporary
    folder's path to ``$EMBCOLLAPSE_TEST_SAVING`` and sleeps), so a test can cancel it there."""
    import embcollapse.results as results
    from embcollapse.sweep import train_one

    if config["seed"] == 1:
        real = results.atomic_directory

        @contextmanager
        def paused(final, kind, known):
            with real(final, kind, known) as tmp:
                yield tmp
                Path(os.environ["EMBCOLLAPSE_TEST_SAVING"]).write_text(str(tmp))
                time.sleep(600)

        results.atomic_directory = paused
    return train_one(config, store_root, device)
