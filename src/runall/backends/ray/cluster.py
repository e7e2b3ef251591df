"""Connecting to Ray for one run: the cluster at an address, or a local instance started for it.

`ray` is imported here only when a run needs the cluster; `require_ray` checks that it is
installed without importing it.
"""

from __future__ import annotations

import importlib.util
import logging
import socket
from typing import Any, Mapping, Sequence

from runall.backends.ray import worker
from runall.backends.ray.settings import RaySettings
from runall.errors import UsageError
from runall.run.resources import Capacity

INSTALL = "pip install 'runall[ray]'"
REACH_TIMEOUT = 5.0     # seconds to wait for the head's port; Ray itself retries for many minutes


def require_ray() -> None:
    """UsageError with the install command when Ray is not installed (nothing is imported)."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(f"the Ray backend needs Ray, an optional extra: {INSTALL}", where="--backend ray")


def check_reachable(address: str, where: str) -> None:
    """UsageError unless something listens at `host:port` (or `ray://host:port`)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return          # `auto` and other forms Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT).close()
    except OSError as exc:
        raise UsageError(f"cannot reach a Ray cluster at {address}: {exc}", where=where) from None


class Cluster:
    """One run's connection to Ray, with the worker functions registered as remote functions.

    With an address it connects to that cluster; without one it starts a local Ray instance on
    loopback with `local` capacity (this machine's CPUs, GPUs and memory) and stops it on
    `shutdown`.
    """

    def __init__(self, settings: RaySettings, local: Capacity | None) -> None:
        import ray

        self.ray = ray
        self.settings = settings
        self._owned = not ray.is_initialized()
        if self._owned:
            self._init(settings, local)
        self.run_attempt = ray.remote(max_retries=0)(worker.run_attempt)
        self.signal_attempts = ray.remote(num_cpus=0, max_retries=0)(worker.signal_attempts)
        self._ready = ray.remote(num_cpus=1, max_retries=0)(worker.ready)

    def _init(self, settings: RaySettings, local: Capacity | None) -> None:
        quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
        if settings.address is None:
            assert local is not None
            self.ray.init(address="local", num_cpus=local.cpus, num_gpus=len(local.gpu_ids), _memory=local.memory,
                          include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
            return
        check_reachable(settings.address, settings.source)
        try:
            self.ray.init(address=settings.address, **quiet)
        except Exception as exc:            # Ray raises ConnectionError, ValueError, RuntimeError, ...
            raise UsageError(f"cannot connect to Ray at {settings.address}: {exc}", where=settings.source) from None

    def nodes(self) -> list[Mapping[str, Any]]:
        """The alive nodes, each with its `NodeID` and `Resources`."""
        return [node for node in self.ray.nodes() if node.get("Alive")]

    def capacity(self, slots: int) -> Capacity:
        """The cluster's total CPUs, GPUs and memory now, with `slots` jobs at once at most."""
        totals: dict[str, float] = {}
        for node in self.nodes():
            for name, amount in node["Resources"].items():
                totals[name] = totals.get(name, 0.0) + amount
        return Capacity(slots, int(totals.get("CPU", 0)), tuple(str(i) for i in range(int(totals.get("GPU", 0)))),
                        int(totals.get("memory", 0)))

    def warm_up(self, workers: int, timeout: float = 60.0) -> None:
        """Have Ray start `workers` worker processes for this driver (one CPU each, at most the
        cluster's CPUs) and wait for them, so attempts do not wait for worker start-up."""
        if workers > 0:
            self.ray.wait([self._ready.remote() for _ in range(workers)], num_returns=workers, timeout=timeout)

    def on_nodes(self, node_ids: Sequence[str], tokens: Sequence[str], signum: int) -> list[Any]:
        """Start `signal_attempts(tokens, signum)` on each node; returns the result refs."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return [self.signal_attempts.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
                .remote(list(tokens), signum) for node in node_ids]

    def shutdown(self) -> None:
        """Disconnect; a local instance started for the run stops with it."""
        if self._owned:
            self.ray.shutdown()
