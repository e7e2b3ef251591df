"""Keeping every process a job starts within reach, however it detaches.

Two mechanisms (Linux):

- The orchestrator is a *child subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`): a process whose
  parent exits (a double-forked daemon, a `start_new_session=True` child with a cleared
  environment) is re-parented to the orchestrator rather than to init, so it can never
  outlive the run unseen. `reap_orphans` collects those that exit.
- Where cgroup v2 is writable, each attempt starts in a cgroup of its own
  (`<own cgroup>/runall-<pid>/<n>`), which every descendant inherits whatever it does with
  sessions, process groups or its environment. Killing the cgroup ends them all. The process
  is placed race-free and with one move per attempt: the orchestrator waits in the next
  attempt's (empty) cgroup, forks the job there, and moves on to the next one at once. The
  move waits for the kernel (an RCU grace period: about a millisecond while the jobs keep
  the CPUs busy), so a thread of its own makes it while the run goes on; everything that
  touches a cgroup or starts the next attempt waits for it first. A cgroup found empty when
  its attempt ends serves a later attempt (creating and removing one per attempt cost more
  than the move). (Anything else the orchestrator forked during a run would start in the
  next attempt's cgroup; the local backend forks nothing else.)

Where cgroups are not writable, `Orphans` attributes re-parented processes to the jobs that
were running when they appeared, and they are killed once all of those jobs have ended.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import psutil

PR_SET_CHILD_SUBREAPER = 36
T = TypeVar("T")
_subreaper = False


def become_subreaper() -> bool:
    """Make this process adopt its descendants' orphans (once; True when in effect)."""
    global _subreaper
    if not _subreaper:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            _subreaper = False
    return _subreaper


def children() -> set[int]:
    """Pids of this process's children now."""
    return set(_child_pids())


def _child_pids() -> list[int]:
    """This process's children, from /proc/self/task/*/children (what it costs grows with the
    children, not with every process on the machine as a scan of /proc would); psutil where
    the kernel does not list them."""
    try:
        pids = []
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as listing:
                pids += [int(pid) for pid in listing.read().split()]
        return pids
    except (OSError, ValueError):
        try:
            return [c.pid for c in psutil.Process().children()]
        except psutil.Error:
            return []


def reap_orphans(keep: Iterable[int]) -> list[int]:
    """Collect exited children other than `keep` (job leaders, and children this process had
    before it ran jobs): adopted orphans; returns their pids."""
    keep = set(keep)
    reaped = []
    for pid in _child_pids():
        if pid in keep:
            continue
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                continue                    # still running
            if os.waitpid(pid, os.WNOHANG)[0]:
                reaped.append(pid)
        except ChildProcessError:
            continue
    return reaped


def adopted(keep: Iterable[int]) -> list[psutil.Process]:
    """Living children of this process other than `keep`: orphans adopted from jobs."""
    keep = set(keep)
    found = []
    for pid in _child_pids():
        if pid in keep:
            continue
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            continue
        if _alive(proc):
            found.append(proc)
    return found


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class Cgroups:
    """One cgroup v2 per attempt under `<own cgroup>/runall-<pid>`; None from `open` where unusable."""

    def __init__(self, base: Path, home: Path, parked: Path) -> None:
        self.base = base            # this orchestrator's folder of attempt cgroups
        self.home = home            # the cgroup the orchestrator came from, and goes back to at the end
        self._parked: Path | None = parked   # the cgroup it waits in: the next attempt's
        self._count = int(parked.name)
        self._lock = threading.Lock()
        self._left: set[str] = set()    # ended attempts' cgroups that still held processes
        self._free: list[str] = []      # ended attempts' cgroups found empty: the next attempts' (no mkdir, rmdir)
        self._move = threading.Event()  # set: the mover thread is asked to park in the next cgroup
        self._moved = threading.Event() # set: no move under way (the orchestrator is where `_parked` says)
        self._moved.set()
        self._leaving: str | None = None  # the attempt cgroup the orchestrator is moving out of
        self._mover: threading.Thread | None = None
        self._closing = False

    @classmethod
    def open(cls) -> "Cgroups | None":
        """Cgroups for this orchestrator, or None when cgroup v2 is absent or not writable here."""
        if os.environ.get("RUNALL_NO_CGROUPS"):
            return None
        mount, own = _cgroup2_mount(), _own_cgroup()
        if mount is None or own is None:
            return None
        home = mount / own.lstrip("/")
        base = home / f"runall-{os.getpid()}"
        _remove_dead_bases(home)
        try:
            base.mkdir(exist_ok=True)
            first = _enter(base / "1")          # also the probe: can this process move at all?
        except OSError:
            _remove_quietly(base / "1")
            _remove_quietly(base)
            return None
        return cls(base, home, first)

    def spawn(self, start: Callable[[], T]) -> tuple[T, Path]:
        """Call `start` (which forks) in the cgroup the orchestrator waits in, then move on to a
        new one; returns what `start` returned and the cgroup its processes are in. When
        `start` raises, nothing started and the orchestrator stays where it is."""
        with self._lock:
            self._settle()
            if self._parked is None:            # an earlier move failed: try again (OSError: cannot start)
                self._parked = self._next()
            group = self._parked
            started = start()
            self._parked, self._leaving = None, group.name
            if self._mover is None:
                self._mover = threading.Thread(target=self._moving, name="runall-cgroup-mover", daemon=True)
                self._mover.start()
            self._moved.clear()
            self._move.set()
            return started, group

    def _moving(self) -> None:
        """The mover thread: park in the next attempt's cgroup each time `spawn` asks."""
        while True:
            self._move.wait()
            self._move.clear()
            if self._closing:
                return
            try:
                self._parked = self._next()
            except OSError:                     # never stay in an attempt's cgroup: it may be killed
                try:
                    _enter(self.home)
                except OSError:
                    pass                        # nowhere to go; the next `spawn` tries `_next` again
            finally:
                self._leaving = None
                self._moved.set()

    def _settle(self, name: str | None = None) -> None:
        """Wait until the orchestrator has left the last attempt's cgroup (only when that is
        cgroup `name`, given one: other attempts' cgroups need not wait for the move)."""
        if name is None or name == self._leaving:
            self._moved.wait()

    def _next(self) -> Path:
        """Move the orchestrator into the next attempt's cgroup: an emptied one, else a new one."""
        if self._free:
            return _enter(self.base / self._free.pop(), create=False)
        self._count += 1
        return _enter(self.base / str(self._count))

    def pids(self, name: str) -> list[int]:
        """Processes in attempt cgroup `name` now."""
        self._settle(name)
        return self.members(name)

    def members(self, name: str) -> list[int]:
        """Processes in attempt cgroup `name` now, without waiting for the orchestrator to have
        left it (it may be among them)."""
        return _procs(f"{self.base}/{name}") or []

    def signal(self, name: str, sig: int) -> None:
        """Send `sig` to every process of cgroup `name`."""
        for pid in self.pids(name):
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def kill(self, name: str) -> None:
        """SIGKILL everything in cgroup `name` (cgroup.kill where the kernel has it)."""
        self._settle(name)
        try:
            (self.base / name / "cgroup.kill").write_text("1")
        except OSError:
            self.signal(name, signal.SIGKILL)

    def remove(self, name: str) -> bool:
        """Delete cgroup `name` once it is empty; False while processes are still leaving it."""
        try:
            (self.base / name).rmdir()
        except FileNotFoundError:
            return True
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                return False
            raise
        return True

    def end(self, name: str) -> None:
        """An attempt's leader exited: keep its cgroup for a later attempt when it is empty, else
        SIGKILL what is left in it and remove the cgroup once they are gone (`prune`)."""
        self._settle(name)
        if self._empty(name):
            self._free.append(name)
        else:
            self.kill(name)
            self._left.add(name)

    def _empty(self, name: str) -> bool:
        """Whether cgroup `name` exists and holds no process (an exited, unreaped leader is not in it)."""
        return _procs(f"{self.base}/{name}") == []

    def prune(self) -> None:
        """Remove the ended attempts' cgroups that hold no process any more."""
        self._left = {name for name in self._left if not self.remove(name)}

    def close(self) -> None:
        """Go back to the orchestrator's own cgroup; kill whatever is left in any attempt cgroup,
        then remove them all."""
        with self._lock:
            self._settle()
            _enter(self.home)
            self._parked = None
            if self._mover is not None:
                self._closing = True
                self._move.set()
                self._mover.join()
        for group in self._groups():
            kill_cgroup(group)
        _remove_quietly(self.base)

    def _groups(self) -> list[Path]:
        """The attempt cgroups (the folders among the base's control files), without a stat each."""
        try:
            with os.scandir(self.base) as entries:
                return [self.base / e.name for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            return []


def _enter(group: Path, create: bool = True) -> Path:
    """Move this process (all its threads) into cgroup `group`, creating it first if `create`."""
    if create:
        group.mkdir(exist_ok=True)
    fd = os.open(f"{group}/cgroup.procs", os.O_WRONLY)
    try:
        os.write(fd, str(os.getpid()).encode())
    finally:
        os.close(fd)
    return group


def _procs(group: Path | str) -> list[int] | None:
    """The processes in cgroup `group` now; None when it cannot be read (gone, say)."""
    try:
        fd = os.open(f"{group}/cgroup.procs", os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return [int(pid) for pid in b"".join(chunks).split()]
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def kill_cgroup(group: Path, wait: float = 2.0) -> int:
    """SIGKILL every process in cgroup `group` and remove it once empty; returns how many were in it."""
    pids = _procs(group)
    if pids is None:
        return 0
    try:
        (group / "cgroup.kill").write_text("1")
    except OSError:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            group.rmdir()
            break
        except FileNotFoundError:
            break
        except OSError:
            time.sleep(0.01)
    return len(pids)


class Orphans:
    """Without cgroups: adopted orphans, each with the jobs that were running when it appeared."""

    def __init__(self) -> None:
        self.suspects: dict[int, tuple[psutil.Process, set[str]]] = {}

    def observe(self, leaders: dict[int, str], keep: Iterable[int]) -> None:
        """Note orphans that appeared since the last look, with the jobs running now."""
        for proc in adopted({*leaders, *keep}):
            if proc.pid not in self.suspects:
                self.suspects[proc.pid] = (proc, set(leaders.values()))

    def released(self, running: Iterable[str]) -> list[psutil.Process]:
        """Orphans none of whose candidate jobs still runs: they are to be killed."""
        still = set(running)
        done = [pid for pid, (_, jobs) in self.suspects.items() if not jobs & still]
        return [self.suspects.pop(pid)[0] for pid in done]


def _remove_dead_bases(home: Path) -> None:
    """Remove the empty cgroup folders of orchestrators that died (a SIGKILL leaves them behind)."""
    try:
        bases = [p for p in home.glob("runall-*") if p.name[7:].isdigit() and not psutil.pid_exists(int(p.name[7:]))]
    except OSError:
        return
    for base in bases:
        for group in (p for p in base.iterdir() if p.is_dir()):
            _remove_quietly(group)
        _remove_quietly(base)


def _cgroup2_mount() -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _own_cgroup() -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    return next((line[3:] for line in lines if line.startswith("0::")), None)


def _remove_quietly(path: Path) -> None:
    """rmdir, where possible."""
    try:
        path.rmdir()
    except OSError:
        pass
