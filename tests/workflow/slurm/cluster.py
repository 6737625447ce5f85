"""A real single-node SLURM cluster for the tests and benchmarks: munged, slurmctld and slurmd
from Debian's packages, two partitions (``cpu``, the default, and ``gpu``) on this machine and a
fake GPU (``gres gpu:1`` backed by /dev/null, so jobs see ``CUDA_VISIBLE_DEVICES=0``).

The configuration must live at /etc/slurm/slurm.conf: the executor plugin's job step clears every
``SLURM_*`` variable (``SLURM_CONF`` included) before it calls ``srun``. Whatever was there is
restored when the cluster stops; the daemons are stopped by their PIDs, and so is any process of
its jobs still running (a run cut off by its time limit leaves them). A cluster that a killed test
process left behind (its slurm.conf is still in /etc/slurm) is stopped when the next one starts.

Use from Python (``with Cluster(tmp) as cluster:``) or from a shell, for trying the README by
hand (as root): ``python tests/workflow/slurm/cluster.py start DIR`` ...
``python tests/workflow/slurm/cluster.py stop DIR``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ETC = Path("/etc/slurm")
CONFIG_FILES = ("slurm.conf", "gres.conf")
DAEMONS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "srun")
# Status checks start this many seconds after a submission (the profile's
# slurm-init-seconds-before-status-checks); SLURM must remember a finished job at least three
# times as long (MinJobAge), or the plugin's squeue status check loses it; the tests read the
# records of a whole run back with `scontrol show job`, so they pass a MinJobAge longer than
# their runs' limits (Cluster(min_job_age=...)); this is the default.
MIN_JOB_AGE = 900
# Time limits of the cluster's own steps, far above what they took on the 2-core machine at load
# 8-9 (4x slower than quiet), so a machine three times slower than that still passes:
START_LIMIT_S = 120  # the daemons up and the node idle: 0.1-0.3 s measured
COMMAND_LIMIT_S = 60  # one squeue, sinfo, scontrol or scancel: 0.02-0.1 s measured
DRAIN_LIMIT_S = 60  # a cut-off run's jobs cancelled and gone from the queue: under 3 s measured
CLUSTER_NAME = "transfer-tsc-test"
HEADER = "# Single-node test cluster written by tests/workflow/slurm/cluster.py"

SLURM_CONF = (
    HEADER
    + """ (restored when the test ends).
ClusterName={cluster_name}
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
MpiDefault=none
SlurmdParameters=config_overrides
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge={min_job_age}
ReturnToService=2
SlurmctldTimeout=120
SlurmdTimeout=300
InactiveLimit=0
KillWait=2
GresTypes=gpu
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={host} Default=NO MaxTime=INFINITE State=UP
"""
)

GRES_HEADER = "# A fake GPU for the test cluster"
GRES_CONF = (
    GRES_HEADER
    + """: jobs that ask for it see CUDA_VISIBLE_DEVICES=0.
AutoDetect=off
NodeName={host} Name=gpu File=/dev/null
"""
)


# What a working copy of the workflow needs (the test and the benchmark run from a copy).
WORKFLOW_FILES = (
    "Snakefile",
    "rules",
    "scripts",
    "envs",
    "report",
    "src",
    "config.yaml",
    "demo.yaml",
    "profiles",
)


def copy_workflow(repo: Path, dest: Path) -> None:
    """Copy the workflow's files (not results, caches or the venv) from ``repo`` into ``dest``."""
    for name in WORKFLOW_FILES:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)


def unavailable() -> str | None:
    """Why this machine cannot run the test cluster, or None when it can."""
    if os.geteuid() != 0:
        return "the single-node SLURM needs root (it writes /etc/slurm and starts daemons)"
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        return (
            f"SLURM is not installed ({', '.join(missing)} missing); "
            "`bash tools/install.sh --test` installs it as root with apt"
        )
    return None


def _written_here(path: Path) -> bool:
    """Whether ``path`` is a configuration file that this module wrote."""
    try:
        return path.read_text().startswith((HEADER, GRES_HEADER))
    except OSError:
        return False


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still answers kill(0); it is gone for our purpose
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _stop_pid(pid: int | None, timeout: float = 10.0) -> None:
    _stop_pids([pid] if pid is not None else [], timeout)


def _stop_pids(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM, and SIGKILL to those still there ``timeout`` seconds later."""
    pids = [pid for pid in pids if _alive(pid)]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _run(*command: str, timeout: float = COMMAND_LIMIT_S) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


class Cluster:
    """Start the single-node cluster under ``root`` (a temporary folder); stop it on exit."""

    def __init__(
        self,
        root: str | os.PathLike,
        cpus: int | None = None,
        memory_mb: int = 8000,
        min_job_age: int = MIN_JOB_AGE,
    ):
        self.root = Path(root).resolve()
        self.min_job_age = min_job_age
        self.host = socket.gethostname().split(".")[0]
        # twice the machine's CPUs: the jobs of a test mostly wait (start-up, status polls), so
        # a GPU group and a CPU job may share the cores (SlurmdParameters=config_overrides)
        self.cpus = cpus or 2 * (os.cpu_count() or 1)
        self.memory_mb = memory_mb
        self.backup = self.root / "etc-backup"
        self.started_munged: int | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Cluster:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self._stop_leftover()
        for sub in ("state", "spool", "etc-backup"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._install_config()
        try:
            self._start_munged()
            for daemon in ("slurmctld", "slurmd"):
                pid = _pid(self.root / f"{daemon}.pid")
                if pid and _alive(pid):
                    raise RuntimeError(f"{daemon} of an earlier run still runs (PID {pid})")
            self._check(_run("slurmctld", "-c", "-f", str(self.conf)))
            self._check(_run("slurmd", "-f", str(self.conf)))
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Cancel what is left, stop the daemons this cluster started and any process of its
        jobs that outlived them (a run cut off by its time limit leaves jobs running), restore
        /etc/slurm."""
        ctld = _pid(self.root / "slurmctld.pid")
        if ctld and _alive(ctld):
            try:
                jobs = self.jobs()
                if jobs:
                    _run("scancel", "--quiet", *(job.split()[0] for job in jobs))
                deadline = time.monotonic() + DRAIN_LIMIT_S
                while time.monotonic() < deadline and self.jobs():
                    time.sleep(0.5)
            except subprocess.TimeoutExpired:
                pass  # the processes are stopped below all the same
        _stop_pid(_pid(self.root / "slurmd.pid"))
        _stop_pid(ctld)
        # again until none is left: a step that is stopped may start one more (seen under load)
        deadline = time.monotonic() + DRAIN_LIMIT_S
        while (left := self.job_processes()) and time.monotonic() < deadline:
            _stop_pids(left, timeout=5)
        if self.started_munged:
            _stop_pid(self.started_munged)
            self.started_munged = None
        self._restore_config()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- queries ----------------------------------------------------------------------------
    @property
    def conf(self) -> Path:
        return ETC / "slurm.conf"

    def jobs(self) -> list[str]:
        """The jobs still in the queue (pending, running or completing), as "ID STATE"."""
        result = _run("squeue", "-h", "-o", "%i %T")
        return result.stdout.strip().splitlines() if result.returncode == 0 else []

    def show_job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as key -> value (the record stays MinJobAge after the end)."""
        result = _run("scontrol", "show", "job", "-o", str(job_id))
        self._check(result)
        fields = {}
        for token in result.stdout.split():
            key, sep, value = token.partition("=")
            if sep:
                fields[key] = value
        return fields

    def job_processes(self) -> list[int]:
        """PIDs of this cluster's job steps (``slurmstepd``, run in the cluster's folder) and of
        the processes of its jobs (``SLURM_CLUSTER_NAME`` in their environment)."""
        marker = f"SLURM_CLUSTER_NAME={CLUSTER_NAME}".encode()
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                command = (proc / "cmdline").read_bytes()
                if command.startswith(b"slurmstepd:"):  # its folder may be gone already
                    cwd = os.readlink(proc / "cwd").removesuffix(" (deleted)")
                    ours = Path(cwd) == self.root
                else:
                    ours = marker in (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue  # gone, or a kernel thread
            if ours:
                pids.append(int(proc.name))
        return pids

    def still_running(self) -> list[int]:
        """PIDs of this cluster's daemons and job processes that still run (none once stopped)."""
        daemons = [_pid(self.root / f"{daemon}.pid") for daemon in ("slurmctld", "slurmd")]
        return [pid for pid in daemons if pid and _alive(pid)] + self.job_processes()

    def all_jobs(self) -> list[dict[str, str]]:
        """Every job the controller still remembers, with its ``scontrol show job`` fields."""
        result = _run("squeue", "-h", "-t", "all", "-o", "%i")
        self._check(result)
        return [self.show_job(i) for i in result.stdout.split()]

    # -- internals --------------------------------------------------------------------------
    def _install_config(self) -> None:
        ETC.mkdir(parents=True, exist_ok=True)
        marker = self.backup / "saved"
        if not marker.exists():
            for name in CONFIG_FILES:
                # not a test cluster's file that a killed run left (its own backup is gone)
                if (ETC / name).exists() and not _written_here(ETC / name):
                    shutil.copy2(ETC / name, self.backup / name)
            marker.write_text("\n".join(n for n in CONFIG_FILES if (self.backup / n).exists()))
        values = dict(
            host=self.host,
            root=self.root,
            cpus=self.cpus,
            memory=self.memory_mb,
            min_job_age=self.min_job_age,
            cluster_name=CLUSTER_NAME,
        )
        (ETC / "slurm.conf").write_text(SLURM_CONF.format(**values))
        (ETC / "gres.conf").write_text(GRES_CONF.format(**values))

    def _restore_config(self) -> None:
        marker = self.backup / "saved"
        if not marker.exists():
            return
        saved = marker.read_text().split()
        for name in CONFIG_FILES:
            if name in saved:
                shutil.copy2(self.backup / name, ETC / name)
            elif (ETC / name).exists():
                (ETC / name).unlink()
        marker.unlink()

    def _start_munged(self) -> None:
        if _run("sh", "-c", "munge -n | unmunge").returncode == 0:
            return  # a munged already runs (not ours: left running)
        run_dir = Path("/run/munge")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        pidfile = self.root / "munged.pid"
        self._check(
            _run(
                "runuser", "-u", "munge", "--", "munged", "--pid-file", str(run_dir / "munged.pid")
            )
        )
        pid = _pid(run_dir / "munged.pid")
        pidfile.write_text(f"{pid}\n")
        self.started_munged = pid

    def _stop_leftover(self) -> None:
        """Stop a test cluster an earlier run left behind (its process was killed before it could
        stop it): its /etc/slurm/slurm.conf names its folder, where its PID files and the saved
        configuration are. Then make sure nothing else holds SLURM's ports."""
        try:
            text = self.conf.read_text()
        except OSError:
            text = ""
        if text.startswith(HEADER):
            state = next(
                (
                    line.split("=", 1)[1]
                    for line in text.splitlines()
                    if line.startswith("StateSaveLocation=")
                ),
                None,
            )
            if state and Path(state).parent.resolve() != self.root:
                Cluster(Path(state).parent).stop()
        for daemon, port in (("slurmctld", 6817), ("slurmd", 6818)):
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("", port))
                except OSError:
                    raise RuntimeError(
                        f"port {port} ({daemon}) is in use: a {daemon} that this test did not "
                        "start (or whose folder is gone) still runs; stop it first"
                    ) from None

    def _wait_idle(self, timeout: float = START_LIMIT_S) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            result = _run("sinfo", "-h", "-o", "%t")
            state = result.stdout.strip()
            if result.returncode == 0 and state and all(s == "idle" for s in state.split()):
                return
            time.sleep(0.2)
        log = (
            (self.root / "slurmd.log").read_text()[-2000:]
            if (self.root / "slurmd.log").exists()
            else ""
        )
        raise RuntimeError(
            f"the test cluster did not become idle within {timeout:.0f} s (sinfo: {state!r})\n{log}"
        )

    @staticmethod
    def _check(result: subprocess.CompletedProcess) -> None:
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(result.args)} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(f"usage: {argv[0]} start|stop DIR", file=sys.stderr)
        return 2
    cluster = Cluster(argv[2])
    if argv[1] == "start":
        cluster.start()
        munged = cluster.started_munged
        if munged:
            (cluster.root / "munged.started").write_text(f"{munged}\n")
        print(f"SLURM test cluster up (config {cluster.conf}); stop: {argv[0]} stop {argv[2]}")
    else:
        started = cluster.root / "munged.started"
        cluster.started_munged = _pid(started)
        cluster.stop()
        started.unlink(missing_ok=True)
        print("SLURM test cluster stopped, /etc/slurm restored")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
