"""A real single-node Slurm on localhost for the tests (Debian's ``slurm-wlm`` and ``munge``).

:class:`LocalSlurm` writes a private ``slurm.conf`` in a folder of its own (``SLURM_CONF``
points at it, so no file under ``/etc`` is read or written), starts ``munged`` on a private
socket with a fresh key, then ``slurmctld`` and ``slurmd`` on free ports, and waits until
``sinfo`` shows the node idle. :meth:`LocalSlurm.stop` stops what it started, by process id.

The cluster: one node (this machine, its CPUs and memory), one partition ``debug``,
``select/cons_tres`` with CPUs as the consumable resource, ``proctrack/pgid``, no cgroups, no
GPUs. Accounting: no ``slurmdbd`` (it needs a MySQL server), so ``sacct`` answers with an error
and a job's state is read from ``slurmctld`` (``scontrol show job``: finished jobs stay there
for ``MinJobAge`` seconds, here 3600); finished jobs are also written by ``jobcomp/filetxt`` to
``jobcomp.log`` in the cluster's folder.

Installing the packages is left to ``.ci/run`` (best effort, as root with apt-get);
:func:`missing` says what is absent, and the fixture skips with that reason.

Run by hand (``python tests/slurm_cluster.py``) it starts a cluster, prints the ``SLURM_CONF``
to export, and stops it on Enter.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sinfo", "sbatch", "squeue", "scancel", "scontrol", "srun")
INSTALL = "apt-get install slurmctld slurmd slurm-client munge"


def _sbin(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name,
                                                         Path("/sbin") / name) if p.exists()),
                                      None)


def missing() -> str | None:
    """Why no local Slurm can start here (a sentence), or None when it can be tried."""
    absent = [n for n in DAEMONS + CLIENTS if _sbin(n) is None]
    if absent:
        return (f"Slurm/munge not installed ({', '.join(absent)} missing): `{INSTALL}` as root "
                f"(.ci/run does it on Debian/Ubuntu)")
    if os.geteuid() != 0:
        return "a local Slurm needs root (slurmd launches jobs as their user)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 - 512
    return 2048


class SlurmStartError(RuntimeError):
    pass


class LocalSlurm:
    """A controller and one compute node on localhost, all files under ``root``."""

    def __init__(self, root: Path | None = None, cpus: int | None = None) -> None:
        # a short path: munge's socket path must fit in 108 bytes
        self.root = Path(root or tempfile.mkdtemp(prefix="ecslurm-"))
        self.cpus = cpus or os.cpu_count() or 1
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._pids: dict[str, Path] = {}

    # ------------------------------------------------------------------ files
    def write_config(self) -> None:
        r = self.root
        for sub in ("state", "spool", "munge", "log"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        (r / "munge").chmod(0o700)
        key = r / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
            key.chmod(0o400)
        ctld, slurmd = _free_port(), _free_port()
        self.conf.write_text(f"""\
# Written by tests/slurm_cluster.py: a single-node Slurm on localhost for the tests.
ClusterName=embcollapse-test
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld}
SlurmdPort={slurmd}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.socket.2
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={r}/jobcomp.log
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmdTimeout=300
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")

    # ------------------------------------------------------------------ daemons
    def start(self, timeout_s: float = 60.0) -> "LocalSlurm":
        reason = missing()
        if reason:
            raise SlurmStartError(reason)
        self.write_config()
        r = self.root
        self._run([_sbin("munged"), "--force", f"--socket={r}/munge/munge.socket.2",
                   f"--key-file={r}/munge/munge.key", f"--pid-file={r}/munge/munged.pid",
                   f"--log-file={r}/log/munged.log", f"--seed-file={r}/munge/munged.seed"],
                  "munged", r / "munge" / "munged.pid")
        self._run([_sbin("slurmctld"), "-f", str(self.conf)], "slurmctld", r / "slurmctld.pid")
        self._run([_sbin("slurmd"), "-f", str(self.conf), "-N", self.node], "slurmd",
                  r / "slurmd.pid")
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=self.env, text=True,
                                 capture_output=True)
            state = (out.stdout or out.stderr).strip()
            if out.returncode == 0 and state == "idle":
                return self
            time.sleep(0.5)
        logs = self.logs()
        self.stop()
        raise SlurmStartError(f"the node did not become idle in {timeout_s:.0f} s "
                              f"(sinfo: {state!r})\n{logs}")

    def _run(self, argv: list, name: str, pid_file: Path) -> None:
        done = subprocess.run([str(a) for a in argv], env=self.env, text=True,
                              capture_output=True)
        if done.returncode != 0:
            logs = self.logs()
            self.stop()
            raise SlurmStartError(f"{name} did not start (exit {done.returncode}): "
                                  f"{done.stderr.strip()}\n{logs}")
        self._pids[name] = pid_file
        for _ in range(100):          # daemons write their pid file once forked
            if pid_file.exists() and pid_file.read_text().strip():
                return
            time.sleep(0.05)

    def logs(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self, drain_s: float = 30.0) -> None:
        """Cancel this cluster's jobs and let them finish (a job step stopped together with
        its daemons would linger, retrying to report), stop the daemons it started (slurmd,
        slurmctld, munged) by pid, then kill what is left of its jobs: processes whose
        environment names this cluster's ``slurm.conf``."""
        if "slurmctld" in self._pids:
            self.command("scancel", "--user", str(os.geteuid()), check=False)
            deadline = time.monotonic() + drain_s
            while time.monotonic() < deadline and (self.jobs_left() or self._our_processes()):
                time.sleep(0.25)
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file = self._pids.pop(name, None)
            if pid_file is None or not pid_file.exists():
                continue
            try:
                pid = int(pid_file.read_text().strip())
                os.kill(pid, signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        for pid in self._our_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _our_processes(self) -> list[int]:
        """Pids of job steps and tasks of this cluster (their environment holds this
        cluster's ``SLURM_CONF``, set by the slurmd that launched them), not this process."""
        mine, tag, daemons = [], f"SLURM_CONF={self.conf}".encode(), self._daemon_pids()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            # the daemons and their own helpers (slurmctld's slurmscriptd) are not jobs
            if tag in environ and int(entry.name) not in daemons and parent not in daemons:
                mine.append(int(entry.name))
        return mine

    def _daemon_pids(self) -> set[int]:
        pids = set()
        for path in self._pids.values():
            try:
                pids.add(int(path.read_text().strip()))
            except (OSError, ValueError):
                pass
        return pids

    # ------------------------------------------------------------------ helpers
    def command(self, *argv: str, check: bool = True) -> str:
        """Run a Slurm client command against this cluster; its stdout."""
        done = subprocess.run(list(argv), env=self.env, text=True, capture_output=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr}")
        return done.stdout

    def jobs_left(self) -> list[str]:
        """Job ids still pending or running (none when the controller does not answer)."""
        return self.command("squeue", "-h", "-o", "%i", check=False).split()


if __name__ == "__main__":
    cluster = LocalSlurm().start()
    print(f"export SLURM_CONF={cluster.conf}\n(Enter stops the cluster)")
    try:
        input()
    finally:
        cluster.stop()
