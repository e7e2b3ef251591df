"""Find and signal whole process trees: a job's process group plus every descendant."""

from __future__ import annotations

import os
import signal
import time
from typing import Callable, Iterable

import psutil


def snapshot(pid: int) -> list[psutil.Process]:
    """The process and all its descendants, now (collect before signalling: orphans reparent)."""
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group, ignoring a group that no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def signal_all(procs: Iterable[psutil.Process], sig: int) -> None:
    """Send `sig` to each process still running (psutil guards against reused pids)."""
    for proc in procs:
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass


def alive(proc: psutil.Process) -> bool:
    """True while a process runs; a zombie counts as gone."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_tree(pgid: int | None, procs: Iterable[psutil.Process], wait: float = 1.0) -> None:
    """SIGKILL a process group and the given processes, then wait up to `wait` s for them to go."""
    procs = list(procs)
    if pgid is not None:
        signal_group(pgid, signal.SIGKILL)
    signal_all(procs, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.01)


def find_by_env(name: str, match: Callable[[str], bool]) -> list[psutil.Process]:
    """Processes (of this user: others are unreadable) whose variable `name` satisfies `match`."""
    found = []
    for proc in psutil.process_iter():
        try:
            value = proc.environ().get(name)
        except psutil.Error:
            continue
        if value is not None and match(value):
            found.append(proc)
    return found


def kill_by_env(name: str, match: Callable[[str], bool]) -> int:
    """SIGKILL every process found by `find_by_env`, and their descendants; returns how many."""
    tree = {p.pid: p for found in find_by_env(name, match) for p in snapshot(found.pid)}
    kill_tree(None, tree.values())
    return len(tree)
