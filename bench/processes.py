"""Child processes of a bench: started with an environment, logs kept, resident memory read, always stopped.

Standard library only; imports nothing from VeoGen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STOP_GRACE_SECONDS = 5.0
"""How long a child process gets to stop after SIGTERM before SIGKILL, in seconds."""


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user and system, in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


class Children:
    """Child processes started for one phase, their logs kept in a folder; all stopped on exit."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, label: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{label}-{len(self.procs)}.log", "wb")  # noqa: SIM115 (the child keeps it)
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        log.close()
        self.procs.append((label, proc))
        return proc

    def check_alive(self) -> None:
        for label, proc in self.procs:
            if proc.poll() is not None:
                raise SystemExit(f"{label} (pid {proc.pid}) exited with {proc.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out += [f"--- {path.name}", *text]
        return "\n".join(out)

    def problems(self) -> list[str]:
        """Warning, error and traceback lines the children logged (their log level is WARNING)."""
        found = []
        for path in sorted(self.logs.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if any(mark in line for mark in (" WARNING ", " ERROR ", " CRITICAL ", "Traceback")):
                    found.append(f"{path.stem}: {line.strip()}")
        return found

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        give_up = time.monotonic() + STOP_GRACE_SECONDS
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, give_up - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextlib.contextmanager
def children(env: dict[str, str], logs: Path) -> Iterator[Children]:
    procs = Children(env, logs)
    try:
        yield procs
    finally:
        procs.stop()
