"""RayBackend: each attempt is a Ray task that runs the job's argv as a subprocess on a worker.

The task is placed by the job's `cpus`, `gpus`, `memory` and custom `resources`; it writes the
job's output straight to its log (the repository and run directory are on a filesystem every
node shares) and streams two items back: where the process started, and how it ended. Stopping
an attempt signals, on its node, every process that carries the attempt's token (its process
group and descendants, as the local backend does); an attempt still queued is cancelled.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from runall.backends.base import TOKEN_VAR, ExitInfo, LaunchSpec, refuse_multi_node, shell_comment
from runall.backends.local import process_tree
from runall.backends.ray.cluster import Cluster, require_ray
from runall.backends.ray.settings import RaySettings, parse_settings
from runall.config import ExecutionOptions, Project, Sourced
from runall.errors import UsageError
from runall.model import Job, JobStatus
from runall.run.resources import Capacity, detect_capacity, wanted

SWEEP_TIMEOUT = 30.0     # seconds `close` and `kill_stale` wait for the nodes' sweeps


class RayHandle:
    """A submitted attempt: its task's stream, and once started, the node and pid it runs as."""

    pid = None

    def __init__(self, job_id: str, token: str, stream: Any) -> None:
        self.job_id = job_id
        self.token = token
        self.stream = stream
        self.node: str | None = None
        self.where: str | None = None
        self.stop: int | None = None     # signal asked for before the task had started
        self.outcome: ExitInfo | None = None     # how it ended, once the stream said so

    def ref(self) -> dict[str, Any]:
        return {"token": self.token, "job_id": self.job_id}

    def __repr__(self) -> str:
        return f"RayHandle({self.job_id!r}, {self.where or 'not started'})"


Node = Mapping[str, float]      # a node's resources in Ray's names: CPU, GPU, memory, custom ones


def task_options(job: Job, capacity: Capacity, nodes: Sequence[Node]) -> dict[str, Any]:
    """What Ray is asked for: the cores and GPUs the scheduler reserves for the job
    (`resources.wanted`; undeclared cores no more than the largest node has, and one GPU for a
    GPU framework in a serial run too, since Ray places it), its memory and custom resources."""
    cpus, gpus, pinned = wanted(job, capacity)
    if job.cpus is None:
        cpus = max(1, min(cpus, int(max((node.get("CPU", 0) for node in nodes), default=1))))
    if not pinned:
        gpus = 1 if job.gpu_framework and capacity.gpu_ids else 0
    options: dict[str, Any] = {"num_cpus": cpus, "num_gpus": gpus}
    if job.memory:
        options["memory"] = job.memory
    if job.resources:
        options["resources"] = dict(job.resources)
    return options


def request(options: Mapping[str, Any]) -> str:
    """Task options for people: `num_cpus=2, num_gpus=1, memory=4.0 GiB, resources={...}`."""
    memory = f"{options['memory'] / 2**30:.1f} GiB" if options.get("memory") else "-"
    text = f"num_cpus={options['num_cpus']}, num_gpus={options['num_gpus']}, memory={memory}"
    return text + (f", resources={options['resources']}" if options.get("resources") else "")


def fits(options: Mapping[str, Any], node: Node) -> bool:
    """True when the node has room for the task at all (with nothing else running)."""
    need = {"CPU": options["num_cpus"], "GPU": options["num_gpus"], "memory": options.get("memory", 0),
            **options.get("resources", {})}
    return all(node.get(name, 0) >= amount for name, amount in need.items() if amount)


class RayBackend:
    """Runs attempts as Ray tasks (see `Backend` and the module docstring).

    The cluster decides where each attempt runs; the scheduler starts a job once the
    cluster's total CPUs, GPUs and memory can hold it (`--max-workers` caps how many run at
    once), and every job must fit on one node. Without an address, a local Ray instance with
    this machine's CPUs, GPUs and memory is started at the first attempt and stopped by `close`.
    """

    name: ClassVar[str] = "ray"
    counts_local_memory: ClassVar[bool] = False
    can_detach: ClassVar[bool] = False

    @classmethod
    def parse_settings(cls, project: Project, values: Mapping[str, Sourced]) -> RaySettings:
        return parse_settings(project.table.get("ray", {}), values["ray_address"].value,
                              locate=lambda key: project.where(key, "tool.runall.ray"))

    @classmethod
    def create(cls, jobs: Sequence[Job], options: ExecutionOptions, settings: RaySettings) -> "RayBackend":
        refuse_multi_node(jobs, cls.name)
        require_ray()
        return cls(jobs, settings, options.max_workers, options.gpus)

    def __init__(self, jobs: Iterable[Job], settings: RaySettings, max_workers: int | None = None,
                 gpus: int | None = None) -> None:
        self.jobs: Mapping[str, Job] = {job.id: job for job in jobs}
        self.settings = settings
        self._slots = max_workers or max(1, len(self.jobs))
        self._gpus = gpus
        self._environ = dict(os.environ)
        self._cluster: Cluster | None = None
        self._local: Capacity | None = None
        self._capacity: Capacity | None = None
        self._nodes: list[Node] = []
        self._warm = False
        self._tokens: set[str] = set()

    @property
    def where(self) -> str:
        return ("a local Ray instance started for the run" if self.settings.embedded
                else f"the Ray cluster at {self.settings.address}")

    def capacity(self) -> Capacity:
        """The cluster's resources; for a local instance not started yet, this machine's.
        UsageError for a job that no single node can hold."""
        if self._cluster is None and self.settings.embedded:
            capacity = self._local_capacity()
            self._nodes = [{"CPU": capacity.cpus, "GPU": len(capacity.gpu_ids), "memory": capacity.memory}]
        else:
            cluster = self._connect()
            capacity = cluster.capacity(self._slots)
            self._nodes = [node["Resources"] for node in cluster.nodes()]
        self._capacity = capacity
        for job in self.jobs.values():
            options = self._options(job)
            if not any(fits(options, node) for node in self._nodes):
                raise UsageError(f"asks for {request(options)}, but no node of {self.where} has that much",
                                 where=f"job {job.id}")
        return capacity

    def _options(self, job: Job) -> dict[str, Any]:
        """The job's task options, against the capacity the run was given."""
        if self._capacity is None:
            self.capacity()
        assert self._capacity is not None
        return task_options(job, self._capacity, self._nodes)

    def preview(self, specs: Sequence[LaunchSpec]) -> str:
        """Each attempt's resource request and command, runnable from the repository root."""
        cwd = specs[0].cwd if specs else Path.cwd()
        lines = [shell_comment(f"{len(specs)} job(s), each a Ray task on {self.where}, run from "
                               f"{shlex.quote(str(cwd))} (a filesystem every node shares)")]
        for spec in specs:
            lines += [shell_comment(f"{spec.job_id}: {request(self._options(self.jobs[spec.job_id]))}"),
                      shlex.join(spec.argv)]
        return "\n".join(lines) + "\n"

    def start(self, spec: LaunchSpec) -> RayHandle:
        job = self.jobs[spec.job_id]
        env = {**self._environ, **spec.env, TOKEN_VAR: spec.token}
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        options = {**self._options(job), "name": f"runall {spec.token}"}
        try:
            cluster = self._warm_cluster()
            stream = cluster.run_attempt.options(**options).remote(spec.argv, str(spec.cwd), env, str(spec.log_path))
        except Exception as exc:            # Ray's errors have no common base beyond Exception
            spec.log_path.write_text(f"runall: cannot submit to {self.where}: {exc}\n", encoding="utf-8")
            raise OSError(f"cannot submit to {self.where}: {exc}") from None
        finally:
            self._tokens.add(spec.token)
        return RayHandle(spec.job_id, spec.token, stream)

    def poll(self, handles: Sequence[RayHandle], timeout: float) -> list[tuple[RayHandle, ExitInfo]]:
        if not handles or self._cluster is None:
            return []
        waiting = [handle for handle in handles if handle.outcome is None]
        if len(waiting) == len(handles):
            streams = [handle.stream for handle in waiting]
            ray = self._cluster.ray
            if ray.wait(streams, num_returns=1, timeout=timeout)[0]:
                ready = ray.wait(streams, num_returns=len(streams), timeout=0)[0]
                for handle in waiting:
                    if any(stream is handle.stream for stream in ready):
                        self._read(handle)
        return [(handle, handle.outcome) for handle in handles if handle.outcome is not None]

    def _read(self, handle: RayHandle) -> None:
        """Take the attempt's items that have arrived: where it started, then how it ended."""
        ray = self._cluster.ray
        while handle.outcome is None and ray.wait([handle.stream], timeout=0)[0]:
            try:
                item = ray.get(next(handle.stream))
            except StopIteration:
                item = {"error": "the Ray task ended without an exit status"}
            except ray.exceptions.TaskCancelledError:
                handle.outcome = ExitInfo(None, status=JobStatus.CANCELLED, reason="cancelled before it started")
                return
            except ray.exceptions.RayError as exc:
                item = {"error": f"Ray: {(str(exc).strip() or type(exc).__name__).splitlines()[0]}"}
            if "started" in item:
                started = item["started"]
                handle.node, handle.where = started["node"], f"pid {started['pid']} on {started['host']}"
                if handle.stop is not None:
                    self._signal(handle, handle.stop)
            elif "error" in item:
                handle.outcome = ExitInfo(None, status=JobStatus.FAILED, reason=item["error"])
            else:
                handle.outcome = ExitInfo(item["exit_code"], item["signal"], item["peak_rss"])

    def terminate(self, handle: RayHandle) -> None:
        """SIGTERM the attempt's processes on its node; an attempt not started yet is cancelled."""
        self._signal(handle, signal.SIGTERM)

    def kill(self, handle: RayHandle) -> None:
        """SIGKILL the attempt's process group and descendants on its node (on every node while
        where it runs is not known yet), and cancel its task."""
        self._signal(handle, signal.SIGKILL)

    def _signal(self, handle: RayHandle, signum: int) -> None:
        """Signal a started attempt on its node; cancel one that has not started (and remember the
        signal for when it turns out to have started after all)."""
        cluster = self._connect()
        if handle.node is None:
            self._read(handle)          # it may have started since the last poll
        if handle.outcome is not None:
            return
        if handle.node is not None:
            cluster.on_nodes([handle.node], [handle.token], signum)
            return
        handle.stop = signum
        try:
            cluster.ray.cancel(handle.stream, force=signum == signal.SIGKILL)
        except Exception:       # already ended, or a cancel Ray refuses: the sweep below still applies
            pass
        if signum == signal.SIGKILL:
            cluster.on_nodes([node["NodeID"] for node in cluster.nodes()], [handle.token], signum)

    def describe(self, ref: Mapping[str, Any]) -> str:
        return f"Ray task {ref.get('token')}"

    def reattach(self, ref: Mapping[str, Any]) -> RayHandle:
        raise NotImplementedError("Ray attempts end with their orchestrator; nothing to reattach to")

    def kill_stale(self, refs: Sequence[Mapping[str, Any]]) -> int:
        """SIGKILL, on every node, what is left of the refs' attempts (found by their tokens)."""
        tokens = sorted({ref["token"] for ref in refs if ref.get("token")})
        return self._sweep(tokens) if tokens else 0

    def close(self) -> None:
        """Kill what this run's attempts left anywhere (e.g. daemons), disconnect, and stop a local
        instance started for the run."""
        if self._cluster is None:
            return
        try:
            if self._tokens:
                self._sweep(sorted(self._tokens))
        except Exception as exc:        # the cluster went away: nothing more can be asked of it
            print(f"runall: warning: cannot check {self.where} for leftover job processes: {exc}", file=sys.stderr)
        finally:
            self._cluster.shutdown()
            self._cluster = None
            if self.settings.embedded and self._tokens:      # this machine: whatever the instance left
                process_tree.kill_by_env(TOKEN_VAR, self._tokens.__contains__)

    def _sweep(self, tokens: Sequence[str]) -> int:
        """SIGKILL every process of these attempts on every node; how many there were."""
        cluster = self._connect()
        refs = cluster.on_nodes([node["NodeID"] for node in cluster.nodes()], tokens, signal.SIGKILL)
        done, _ = cluster.ray.wait(refs, num_returns=len(refs), timeout=SWEEP_TIMEOUT)
        return sum(cluster.ray.get(done))

    def _connect(self) -> Cluster:
        if self._cluster is None:
            self._cluster = Cluster(self.settings, self._local_capacity() if self.settings.embedded else None)
        return self._cluster

    def _warm_cluster(self) -> Cluster:
        """Connected, with a warm worker per slot: at the first attempt, before its timeout counts."""
        cluster = self._connect()
        if not self._warm:
            capacity = cluster.capacity(self._slots)
            cluster.warm_up(min(capacity.slots, capacity.cpus))
            self._warm = True
        return cluster

    def _local_capacity(self) -> Capacity:
        """What a local instance gets: this machine's CPUs, GPUs (or `--gpus`) and memory."""
        if self._local is None:
            self._local = detect_capacity(self._slots, self._gpus)
        return self._local
