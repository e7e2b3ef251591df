"""A throwaway Ray head on a free loopback port, for the Ray tests and benchmarks.

`ray start --head --block` runs in its own session (a terminal's Ctrl-C does not reach it);
ending that command stops every process of the head. Token authentication is on:
`RAY_AUTH_MODE=token` and a random `RAY_AUTH_TOKEN` unless one is given (nothing is written
to ~/.ray), set here for this process and its children, since Ray wants both for a driver
that connects by address. `python -m benchmarks.ray_head` starts one, prints its address and
keeps it until SIGTERM (.ci/run does, with the two variables exported for the tests).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

READY_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RayHead:
    """`with RayHead(cpus=2) as address:` a running head at `127.0.0.1:PORT`, stopped on exit."""

    def __init__(self, cpus: int = 2) -> None:
        self.cpus = cpus
        self.address = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        ray = Path(sys.executable).with_name("ray")
        self.proc = subprocess.Popen(
            [str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
             f"--num-cpus={self.cpus}", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.address

    def _wait_ready(self) -> None:
        """Until a driver can connect (the port opens seconds before the node registers)."""
        probe = f"import ray; ray.init(address={self.address!r}, logging_level='ERROR'); ray.shutdown()"
        deadline = time.monotonic() + READY_TIMEOUT
        while self.proc is not None and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", int(self.address.rpartition(":")[2])), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no Ray head at {self.address} after {READY_TIMEOUT:.0f} s") from None
                time.sleep(0.2)
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"`ray start --head` exited with {self.proc and self.proc.returncode}")
        subprocess.run([sys.executable, "-c", probe], check=True, timeout=READY_TIMEOUT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """End `ray start --block`, which stops the head's processes; SIGKILL them if it hangs."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":
    with RayHead(int(sys.argv[1]) if len(sys.argv) > 1 else 2) as address:
        print(address, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.pause()
