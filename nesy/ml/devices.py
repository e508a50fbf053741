"""Devices, seeds and data-parallel plumbing: pick devices, seed, run torchrun workers, DDP."""

from __future__ import annotations

import inspect
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist

from nesy.errors import NesyError

_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the nesy package


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's generators (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def torchrun(nproc: int, module: str, argv: list[str], *, timeout: float | None = None) -> int:
    """Run ``python -m MODULE ARGV`` in ``nproc`` local processes under torchrun.

    The workers meet on 127.0.0.1 (``--standalone`` picks a free port) and train with
    DistributedDataParallel: gloo on CPU, NCCL on CUDA. Each worker runs one thread so that
    ``nproc`` workers share the cores instead of oversubscribing them.

    Args:
        nproc: Number of worker processes (>= 1).
        module: The worker module (e.g. ``nesy.linkpred.worker``).
        argv: The worker's arguments.
        timeout: Seconds before torchrun and its workers are stopped (None: no limit).

    Returns:
        torchrun's exit code (0 when every worker succeeded); 124 after a timeout.
    """
    if nproc < 1:
        raise ValueError(f"nproc must be >= 1, got {nproc}")
    env = dict(os.environ)
    env["MASTER_ADDR"] = "127.0.0.1"
    env["OMP_NUM_THREADS"] = "1"
    # gloo binds to the address the hostname resolves to, which sandboxes often lack.
    if sys.platform.startswith("linux") and Path("/sys/class/net/lo").exists():
        env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    cmd = [
        sys.executable, "-m", "torch.distributed.run",
        "--standalone", "--nproc_per_node", str(nproc),
        "-m", module, *argv,
    ]  # fmt: skip
    # A session of their own, so that stopping them reaches every worker, not just torchrun.
    proc = subprocess.Popen(cmd, env=env, start_new_session=hasattr(os, "killpg"))
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return 124
    except BaseException:  # Ctrl-C no longer reaches the workers' session: pass it on
        _stop(proc)
        raise


def _stop(proc: subprocess.Popen) -> None:
    """Terminate ``proc``'s process group, killing it if it lingers."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, None)):
        try:
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)
            else:
                proc.kill()
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def init_from_env(device: str = "auto") -> bool:
    """Join the process group torchrun describes in RANK/WORLD_SIZE; no-op without them.

    Args:
        device: The training device spec ("auto", "cpu", "cuda"...): NCCL for CUDA, else gloo.

    Returns:
        True when a process group is initialised (now or before).
    """
    if dist.is_initialized():
        return True
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return False
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return True


def world_info() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) without torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_reduce_sum(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` summed over ranks (itself without torch.distributed), on the CPU.

    Rank 0's result is then broadcast, so that every rank holds the very same bits and
    takes the same decisions (early stopping) from it.
    """
    if world_info()[1] == 1:
        return x
    y = x.to(device)
    dist.all_reduce(y)
    dist.broadcast(y, src=0)
    return y.cpu()


def wrap_ddp(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``module`` in DistributedDataParallel when there are several ranks, else itself.

    The wrapper tolerates parameters a step never uses (``static_graph``, without a graph walk
    per step) and does not re-broadcast buffers at every step: the learners' buffers (graphs)
    are equal on all ranks.
    """
    if world_info()[1] == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    sync = ("forward_sync_buffers" if "forward_sync_buffers"
            in inspect.signature(DistributedDataParallel).parameters else "broadcast_buffers")
    return DistributedDataParallel(module, device_ids=ids, static_graph=True, **{sync: False})


def broadcast_state(model: torch.nn.Module) -> None:
    """Overwrite every rank's weights with rank 0's (a no-op in one process).

    Ranks hold equal weights after synchronous training already; this removes any doubt.
    """
    if world_info()[1] == 1:
        return
    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)


def resolve_device(spec: str = "auto") -> torch.device:
    """The device ``spec`` names: "auto" is CUDA when there is a GPU for each local rank.

    Under torchrun local rank ``i`` gets GPU ``i``; NCCL cannot put two ranks on one GPU, so
    with fewer GPUs than local ranks "auto" means the CPU and "cuda" is an error.

    Raises:
        NesyError: an unknown spec, or CUDA asked for but not usable.
    """
    if spec in ("auto", "cuda"):
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        local, local_world = (int(os.environ.get(k, d)) for k, d in
                              (("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1")))
        if gpus and local_world <= gpus:
            spec = f"cuda:{local}"
        elif spec == "auto":
            spec = "cpu"
        else:
            raise NesyError(f"device 'cuda' asked for, but {gpus} GPU(s) for {local_world} "
                            "worker(s) on this machine; use cpu, auto or fewer workers")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise NesyError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NesyError(f"device {spec!r} asked for, but CUDA is not available; use cpu or auto")
    return device
