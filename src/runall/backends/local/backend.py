"""LocalBackend: each attempt is a subprocess in its own session, output straight to its log."""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import psutil

from runall.backends.base import TOKEN_VAR, ExitInfo, LaunchSpec, refuse_multi_node, shell_comment, signal_name
from runall.backends.local import containment, process_tree
from runall.backends.local.placement import Placement
from runall.config import ExecutionOptions, Project, Sourced
from runall.model import Job
from runall.run.launchers import local_command
from runall.run.resources import Capacity, cpu_count, detect_capacity

_RSS_UNIT = 1 if sys.platform == "darwin" else 1024   # ru_maxrss is KiB on Linux
ORPHAN_LOOK_S = 1.0
_RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)     # ignored here, default for jobs (as Popen's restore_signals)


class LocalHandle:
    """A running local attempt: the leader process (and its `Popen` where one started it), its
    cgroup (where there is one), plus the tree collected when stopping it."""

    def __init__(self, pid: int, proc: subprocess.Popen[bytes] | None, token: str, cgroup: Path | None) -> None:
        self.pid = pid
        self.proc = proc
        self.token = token
        self.cgroup = cgroup
        self.pidfd = _pidfd_open(pid)
        self.doomed: list[psutil.Process] = []

    def ref(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"pid": self.pid, "token": self.token}
        if self.cgroup is not None:
            ref["cgroup"] = str(self.cgroup)
        return ref


class LocalBackend:
    """Runs attempts as local subprocesses from `spec.cwd` (see `Backend`).

    Every process of an attempt inherits `RUNALL_JOB_TOKEN`, by which `kill_stale` finds
    what an orchestrator that died left running; every process it starts, however it
    detaches, stays within reach (`containment`: the orchestrator adopts orphans, and each
    attempt runs in its own cgroup where cgroup v2 is writable), and is gone when the attempt
    ends. Capacity is this machine's: one slot serially, `max_workers` (default: the CPU
    count) with `parallel`.
    """

    name: ClassVar[str] = "local"
    counts_local_memory: ClassVar[bool] = True
    can_detach: ClassVar[bool] = False

    def __init__(self, slots: int = 1, gpus: int | None = None) -> None:
        self._environ = dict(os.environ)
        self._tokens: set[str] = set()
        self._slots = slots
        self._gpus = gpus
        self._contained = False
        self._cgroups: containment.Cgroups | None = None
        self._orphans = containment.Orphans()
        self._leaders: dict[int, str] = {}          # pid -> token, of attempts running now
        self._before: set[int] = set()              # children this process had before its first job
        self._looked = 0.0                          # when orphans were last looked for
        self._reaped = 0.0                          # ... and last collected
        self._cwd = os.getcwd()
        self._preparing: threading.Thread | None = None     # containment being set up (`prepare`)
        self._failed: BaseException | None = None         # ... and how that failed
        self._poller = select.epoll() if hasattr(select, "epoll") else None   # the running attempts' pidfds
        self._watched: dict[int, LocalHandle] = {}  # pidfd -> its attempt
        self._placement = Placement()               # where the next attempt starts (with cgroups)

    @classmethod
    def parse_settings(cls, project: Project, values: Mapping[str, Sourced]) -> None:
        return None

    @classmethod
    def create(cls, jobs: Sequence[Job], options: ExecutionOptions, settings: None) -> "LocalBackend":
        refuse_multi_node(jobs, cls.name)
        slots = (options.max_workers or cpu_count()) if options.parallel else 1
        return cls(slots, options.gpus)

    def capacity(self) -> Capacity:
        return detect_capacity(self._slots, self._gpus)

    def preview(self, specs: Sequence[LaunchSpec]) -> str:
        """Each attempt's command, shell-quoted, runnable from the repository root."""
        cwd = specs[0].cwd if specs else Path.cwd()
        lines = [shell_comment(f"{len(specs)} job(s), each run from {shlex.quote(str(cwd))}")]
        for spec in specs:
            lines += [shell_comment(spec.job_id), shlex.join(command(spec))]
        return "\n".join(lines) + "\n"

    def prepare(self) -> None:
        """Set up containment in a thread (see `Backend`): the orchestrator's first move into a
        cgroup waits about 20 ms for the kernel (an RCU grace period), time the run spends
        recording itself meanwhile. `start` waits for it."""
        if self._preparing is None and not self._contained:
            self._preparing = threading.Thread(target=self._contain, name="runall-containment", daemon=True)
            self._preparing.start()

    def _contain(self) -> None:
        try:
            self._before = containment.children()
            containment.become_subreaper()
            _uninherit_fds()
            self._cgroups = containment.Cgroups.open()
        except BaseException as exc:        # raised again where the set-up is awaited
            self._failed = exc

    def _contained_now(self) -> None:
        """Containment in effect (set up here, or awaited from `prepare`); its error, if any."""
        if not self._contained:
            self._contained = True
            if self._preparing is None:
                self._contain()
            else:
                self._preparing.join()
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed

    def start(self, spec: LaunchSpec) -> LocalHandle:
        self._contained_now()
        env = {**self._environ, **spec.env, TOKEN_VAR: spec.token}
        self._tokens.add(spec.token)
        argv = command(spec)
        log = _open_log(spec.log_path)
        try:
            if self._cgroups is None:
                (pid, proc, _), cgroup = self._spawn(argv, spec, env, log), None
            else:
                (pid, proc, cpu), cgroup = self._cgroups.spawn(lambda: self._spawn(argv, spec, env, log))
                self._placement.release(cpu, self._cgroups.members(cgroup.name))
        except OSError as exc:
            os.write(log, f"runall: cannot start {argv[0]!r}: {exc}\n".encode())
            raise
        finally:
            os.close(log)
        self._leaders[pid] = spec.token
        handle = LocalHandle(pid, proc, spec.token, cgroup)
        if handle.pidfd is not None and self._poller is not None:
            self._poller.register(handle.pidfd, select.EPOLLIN)
            self._watched[handle.pidfd] = handle
        return handle

    def _spawn(self, argv: list[str], spec: LaunchSpec, env: dict[str, str],
               log: int) -> tuple[int, subprocess.Popen[bytes] | None, int | None]:
        """Start the attempt's leader in a session of its own, stdin from /dev/null, stdout and
        stderr to its log. `os.posix_spawn` (a third of `Popen`'s cost) where it can do all
        that: a path to the program, run from the orchestrator's own folder; else `Popen`.
        With cgroups, a posix_spawn starts on the CPU the last ended attempt left (`placement`);
        the CPU it was pinned to comes back with it."""
        if "/" in argv[0] and os.fspath(spec.cwd) == self._cwd:
            actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                       (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)]
            cpu = self._placement.pin() if self._cgroups is not None else None
            pid = None
            try:
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True, setsigdef=_RESTORED)
            finally:
                self._placement.unpin(cpu, pid)
            return pid, None, cpu
        proc = subprocess.Popen(argv, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        return proc.pid, proc, None

    def poll(self, handles: Sequence[LocalHandle], timeout: float) -> list[tuple[LocalHandle, ExitInfo]]:
        """The attempts among `handles` that ended, waiting up to `timeout` s for one. Attempts
        with a pidfd are watched by one epoll set (what a wait costs does not grow with the
        attempts running); any without are checked one by one, and then the wait is a sleep."""
        self._watch_orphans()
        bare = [h for h in handles if h.pidfd is None]
        if not bare and self._poller is not None:     # epoll returns at once when one already ended
            return self._reap(self._readable(max(0.0, timeout) if handles else 0.0))
        ended = self._reap([*self._readable(0), *bare])
        if ended or timeout <= 0 or not handles:
            return ended
        time.sleep(min(timeout, 0.05))
        return self._reap([*self._readable(0), *bare])

    def _readable(self, timeout: float) -> list[LocalHandle]:
        """Watched attempts whose pidfd turned readable (their leader exited) within `timeout` s."""
        if self._poller is None or not self._watched:
            return []
        return [self._watched[fd] for fd, _ in self._poller.poll(timeout) if fd in self._watched]

    def terminate(self, handle: LocalHandle) -> None:
        handle.doomed = process_tree.snapshot(handle.pid)
        process_tree.signal_group(handle.pid, signal.SIGTERM)
        process_tree.signal_all(handle.doomed[1:], signal.SIGTERM)
        if handle.cgroup is not None and self._cgroups is not None:
            self._cgroups.signal(handle.cgroup.name, signal.SIGTERM)

    def kill(self, handle: LocalHandle) -> None:
        tree = {p.pid: p for p in [*handle.doomed, *process_tree.snapshot(handle.pid)]}
        if handle.cgroup is not None and self._cgroups is not None:
            self._cgroups.kill(handle.cgroup.name)
        process_tree.kill_tree(handle.pid, tree.values())

    def describe(self, ref: Mapping[str, Any]) -> str:
        return f"pid {ref.get('pid')}"

    def reattach(self, ref: Mapping[str, Any]) -> LocalHandle:
        raise NotImplementedError("local attempts end with their orchestrator; nothing to reattach to")

    def kill_stale(self, refs: Sequence[Mapping[str, Any]]) -> int:
        killed = 0
        for ref in refs:                    # a dead orchestrator's attempt cgroups, wherever they went
            if ref.get("cgroup"):
                killed += containment.kill_cgroup(Path(ref["cgroup"]))
        tokens = {ref["token"] for ref in refs if ref.get("token")}
        return killed + (process_tree.kill_by_env(TOKEN_VAR, tokens.__contains__) if tokens else 0)

    def close(self) -> None:
        """Kill what attempts left behind: by token, every attempt cgroup, and adopted orphans."""
        if self._preparing is not None:
            self._preparing.join()
        if self._tokens:
            process_tree.kill_by_env(TOKEN_VAR, self._tokens.__contains__)
        if self._cgroups is not None:
            self._cgroups.close()
        if self._contained:
            process_tree.kill_tree(None, containment.adopted({*self._leaders, *self._before}))
            containment.reap_orphans({*self._leaders, *self._before})
        if self._poller is not None:
            self._poller.close()
            self._poller = None

    def _reap(self, handles: Sequence[LocalHandle]) -> list[tuple[LocalHandle, ExitInfo]]:
        """Collect those of `handles` whose leader exited, first killing everything they left behind."""
        ended = []
        for handle in handles:
            if not _exited(handle.pid):
                continue
            # The unreaped leader still holds its pid, so the group id cannot belong to anyone else.
            process_tree.kill_tree(handle.pid, handle.doomed[1:], wait=0.5)
            if handle.cgroup is not None and self._cgroups is not None:
                self._cgroups.end(handle.cgroup.name)
                self._placement.ended(handle.pid)
            try:
                _, status, usage = os.wait4(handle.pid, 0)
            except ChildProcessError:       # reaped by someone else: the status is lost
                status, usage = 255 << 8, None
            code = os.waitstatus_to_exitcode(status)
            if handle.proc is not None:
                handle.proc.returncode = code
            if handle.pidfd is not None:
                self._watched.pop(handle.pidfd, None)
                os.close(handle.pidfd)          # which also takes it out of the epoll set
                handle.pidfd = None
            rss = usage.ru_maxrss * _RSS_UNIT if usage else None
            ended.append((handle, ExitInfo(code, None, rss) if code >= 0 else ExitInfo(None, signal_name(-code), rss)))
            del self._leaders[handle.pid]
        if ended:
            self._settle_orphans()
        return ended

    def _watch_orphans(self) -> None:
        """Without cgroups, note (about once a second) which jobs adopted orphans may belong to."""
        now = time.monotonic()
        if self._cgroups is None and self._contained and now - self._looked >= ORPHAN_LOOK_S:
            self._looked = now
            self._orphans.observe(self._leaders, self._before)

    def _settle_orphans(self) -> None:
        """After attempts ended: remove emptied cgroups; kill orphans whose jobs have all ended;
        collect exited orphans (about once a second: a zombie costs nothing meanwhile)."""
        if self._cgroups is not None:
            self._cgroups.prune()
        elif self._contained:
            self._orphans.observe(self._leaders, self._before)
            process_tree.kill_tree(None, self._orphans.released(self._leaders.values()))
        now = time.monotonic()
        if now - self._reaped >= ORPHAN_LOOK_S:
            self._reaped = now
            containment.reap_orphans({*self._leaders, *self._before})


def command(spec: LaunchSpec) -> list[str]:
    """What an attempt runs here: its argv, or the launcher command that runs it as several processes."""
    return spec.argv if spec.launch is None else local_command(spec.argv, spec.launch)


def _open_log(path: Path) -> int:
    """A descriptor of the attempt's new log file (its folder made where missing)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o666)


def _uninherit_fds() -> None:
    """Make every descriptor above stderr that this process holds close on exec, once: what
    `Popen(close_fds=True)` does in each child, for attempts started with `os.posix_spawn`."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


def _exited(pid: int) -> bool:
    """True once child `pid` has exited, without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _pidfd_open(pid: int) -> int | None:
    """A file descriptor that becomes readable when `pid` exits (Linux >= 5.3), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
