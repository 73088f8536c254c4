"""Shared fixtures: an isolated home folder for prepared data and results, tiny configs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test writes prepared data and run records under one temporary home."""
    home = tmp_path_factory.mktemp("embcollapse-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("EMBCOLLAPSE_HOME", str(home))
    torch.set_num_threads(min(2, torch.get_num_threads()))
    yield home
    mp.undo()


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread is fastest, and avoids OpenMP waits on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_data() -> Path:
    """The real Criteo/Avazu samples beside the repository; the test skips without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def slurm_cluster():
    """A real single-node Slurm on localhost (tests/slurm_cluster.py), started once for the
    session and stopped after it; ``SLURM_CONF`` points the client commands (and submitit) at
    it. Skips with the reason when Slurm/munge are not installed or cannot start."""
    import slurm_cluster as local_slurm

    reason = local_slurm.missing()
    if reason:
        pytest.skip(reason)
    cluster = local_slurm.LocalSlurm()
    try:
        cluster.start()
    except local_slurm.SlurmStartError as err:
        pytest.skip(f"a local Slurm could not start: {err}")
    mp = pytest.MonkeyPatch()
    mp.setenv("SLURM_CONF", str(cluster.conf))
    yield cluster
    mp.undo()
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)     # its own mkdtemp folder
