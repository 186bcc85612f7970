"""One trial on several devices: DDP on 2 CPU processes (gloo) started by torchrun."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from studies.commands.launch import worker_slots
from studies.config import HardwareConfig, load_config
from studies.distributed import torchrun_command
from studies.search import search

DDP_ENV = {"OMP_NUM_THREADS": "1", "SHORTCUT_NAS_HEARTBEAT_INTERVAL": "1"}


def ddp_config(write_config, **fields: object) -> Path:  # type: ignore[no-untyped-def]
    path = write_config(shortcuts='["identity", "dense"]', **fields)
    path.write_text(path.read_text() + '\n[hardware]\naccelerator = "cpu"\ndevices = 2\n')
    return path


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **DDP_ENV}
    return subprocess.run(command, cwd=cwd, env=env, text=True, capture_output=True, timeout=300)


@pytest.mark.postgres
@pytest.mark.slow
def test_ddp_trials_record_one_result_each(write_config, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = ddp_config(write_config, n_trials=2, storage=pg_url)
    done = run([sys.executable, "-m", "studies", "search", str(path), "--no-progress"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "starting 2 ranks with torchrun" in done.stdout
    assert done.stdout.count("study 'tiny'") == 1, "only rank 0 prints the summary"
    study = optuna.load_study(study_name="tiny", storage=pg_url)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs["details"]["world_size"] == 2
        assert "x2 DDP ranks on 1 node(s)" in attrs["worker"]["device"]
        assert 0.0 < attrs["val_acc"] <= 1.0 and "test_acc" in attrs
        assert attrs["checkpoint"]["epoch"] == 1 and attrs["model_artifact"]
        assert sorted(trial.intermediate_values) == [], "pruner none: nothing reported"


PRUNE_ALL = """
import sys
import optuna
from studies.config import load_config
from studies.search import search

# val_acc < 2 always: rank 0 prunes every trial at its first epoch.
search(load_config(sys.argv[1]), progress=False, pruner=optuna.pruners.ThresholdPruner(lower=2.0))
"""


@pytest.mark.slow
def test_pruning_stops_every_rank(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = ddp_config(write_config, n_trials=2, epochs=3)
    script = tmp_path / "prune_all.py"
    script.write_text(PRUNE_ALL)
    command = torchrun_command(2, [])[:-2] + [str(script), str(path)]  # a script, not -m
    done = run(command, tmp_path)
    # A rank that kept training would wait forever in an all-reduce: the timeout would fire.
    assert done.returncode == 0, done.stderr[-3000:]
    # channels_last chosen before DDP wraps the model: no NHWC grads in NCHW buckets
    assert "Grad strides do not match bucket view strides" not in done.stderr
    config = load_config(path)
    study = optuna.load_study(study_name="tiny", storage=config.study.storage)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.PRUNED] * 2
    for trial in trials:
        assert list(trial.intermediate_values) == [0], "reported once, by rank 0"
        assert trial.user_attrs["epochs"] == 1
        assert trial.user_attrs["state_reason"] == "pruned by ThresholdPruner"


def test_search_outside_torchrun_names_the_launcher(write_config) -> None:  # type: ignore[no-untyped-def]
    config = load_config(ddp_config(write_config))
    with pytest.raises(ValueError, match=r"devices=2 .*torchrun --nproc-per-node 2 -m studies"):
        search(config, progress=False)
    assert not Path(config.study.storage.removeprefix("sqlite:///")).exists(), "no study made"


def test_torchrun_command_reruns_this_command_per_rank() -> None:
    command = torchrun_command(4, ["search", "c.toml"])
    assert command[1:] == [
        "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=4",
        "--module", "studies", "search", "c.toml",
    ]  # fmt: skip


def slots(gpus: str | None, workers: int | None, devices: int) -> list[dict[str, str]]:
    args = argparse.Namespace(gpus=gpus, workers=workers, workers_per_gpu=None)
    return worker_slots(args, HardwareConfig(), devices)


def test_launch_groups_gpus_by_devices_per_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)  # any machine: grouping only
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [s["CUDA_VISIBLE_DEVICES"] for s in slots("0,1,2,3", None, 2)] == ["0,1", "2,3"]
    assert [s["CUDA_VISIBLE_DEVICES"] for s in slots("0,1,2,3", None, 1)] == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match="do not split into groups of"):
        slots("0,1,2", None, 2)


def test_launch_shares_cpu_cores_between_all_ranks() -> None:
    cores = os.cpu_count() or 1
    (slot,) = slots(None, 1, 2)
    assert slot["OMP_NUM_THREADS"] == str(max(1, cores // 2))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_multinode_launcher_trains_one_trial_across_two_nodes(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """scripts/torchrun_multinode.sh as two "machines" on localhost, one rank each."""
    path = ddp_config(write_config, n_trials=1)
    script = Path(__file__).resolve().parents[1] / "scripts" / "torchrun_multinode.sh"
    port = str(free_port())
    nodes = []
    for node_rank in ("0", "1"):
        env = {**os.environ, **DDP_ENV, "NNODES": "2", "NODE_RANK": node_rank,
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "GPUS_PER_NODE": "1"}  # fmt: skip
        command = ["bash", str(script), str(path)]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        nodes.append(subprocess.Popen(command, cwd=tmp_path, env=env, text=True, **pipes))
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][1][-3000:]
    assert "study 'tiny'" in outputs[0][0] and "study 'tiny'" not in outputs[1][0]
    study = optuna.load_study(study_name="tiny", storage=load_config(path).study.storage)
    (trial,) = study.get_trials()
    assert trial.state is TrialState.COMPLETE
    assert trial.user_attrs["worker"]["device"] == "cpu x2 DDP ranks on 2 node(s)"


@pytest.mark.slow
def test_sigterm_stops_every_rank_and_the_retry_resumes(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Pre-emption of a DDP trial: FAIL + WAITING retry, nothing RUNNING, resume at the epoch.

    Failed without StopAtRankZeroStep's leader-only flag (CI, under load: rank 1 was
    signalled a step before rank 0 and stopped alone; the trial FAILed without a retry).
    """
    import signal
    import time

    path = ddp_config(write_config, n_trials=1, epochs=30)
    storage = load_config(path).study.storage
    command = [sys.executable, "-m", "studies", "search", str(path), "--no-progress"]
    env = {**os.environ, **DDP_ENV}
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            running = optuna.load_study(study_name="tiny", storage=storage).get_trials()
        except KeyError:
            running = []
        if running and (running[0].user_attrs.get("checkpoint") or {}).get("epoch", -1) >= 1:
            break
        time.sleep(0.2)
    # A node's pre-emption signals its processes in any order: rank 1 first, then torchrun
    # (which signals both). Rank 1 must not stop alone, or rank 0's all-reduce fails.
    os.kill(rank_pids(proc.pid)[1], signal.SIGTERM)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)  # Lightning's own handler could deadlock the ranks
    assert proc.returncode == 143, err[-3000:]
    assert "stopped by SIGTERM" in err
    states = [t.state for t in optuna.load_study(study_name="tiny", storage=storage).get_trials()]
    assert states == [TrialState.FAIL, TrialState.WAITING], err[-3000:]
    done = run(command, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    resumed = trials[1].user_attrs["resumed_from"]
    assert resumed["trial"] == 0 and resumed["epoch"] >= 1
    assert trials[1].user_attrs["epochs"] == 30


def rank_pids(torchrun_pid: int) -> dict[int, int]:
    """The pids of the ranks torchrun started, by RANK (read from /proc)."""
    children = Path(f"/proc/{torchrun_pid}/task/{torchrun_pid}/children").read_text().split()
    pids = {}
    for pid in children:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        rank = [item[len(b"RANK=") :] for item in environ if item.startswith(b"RANK=")]
        if rank:
            pids[int(rank[0])] = int(pid)
    return pids


def one_rank_world(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_ranks_leave_destroys_the_groups_they_started(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A gloo group alive at interpreter exit can abort the rank (pytorch#190489): seen
    in 9 of 32 two-rank torchrun runs here that exited without destroying it, 0 of 32 with."""
    import torch.distributed as dist

    from studies.distributed import join_ranks

    one_rank_world(monkeypatch)
    ranks = join_ranks("cpu")
    assert ranks.owns_world and dist.is_initialized()
    ranks.leave()
    assert not dist.is_initialized()


def test_ranks_leave_keeps_a_world_the_caller_started(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import torch.distributed as dist

    from studies.distributed import join_ranks

    one_rank_world(monkeypatch)
    dist.init_process_group("gloo")
    try:
        ranks = join_ranks("cpu")
        assert not ranks.owns_world
        ranks.leave()
        assert dist.is_initialized(), "the caller's group is the caller's to end"
    finally:
        dist.destroy_process_group()
