"""One subprocess supervisor for the tests, the benches and the demo.

A `Supervisor` is one role (a broker, the central QMS, a sync daemon): started, observed until
ready, stopped with SIGTERM (SIGKILL when it does not stop in time), killed outright, and
started again, as often as a run needs, each time under a new PID. Its output goes to one log
file, appended across restarts, so a run leaves one log per role.

Readiness is observed, never slept for: `wait_ready` polls a callable the caller chooses (a
port that accepts, a line in the log, a store that reports the daemon online) and fails at
once when the process exits first.

`die_with_parent` (Linux) asks the kernel to send the child SIGTERM when the process that
started it dies, however it dies: prctl(2), PR_SET_PDEATHSIG. `station demo` killed by
SIGKILL or a closed terminal would otherwise leave its broker, central and daemon running.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sim.net import wait_until

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
KILL_WAIT_S = 10.0
"""How long a SIGKILLed process is waited for (it cannot ignore the signal)."""


class ProcessExited(RuntimeError):
    """The process exited while it was being waited for (its log says why)."""


def die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM when the parent dies (prctl(2)).

    Only async-signal-safe work happens here (one system call), as `preexec_fn` requires.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's own shutdown is all there is


class Supervisor:
    """One role's process.

    Args:
        role: its name in logs and reports ("sync", "central", "mosquitto").
        argv: the command line (may be replaced before a `start`).
        log_path: the log, appended to; stdout and stderr go there.
        env: the environment (None: this process's).
        cwd: the working directory (None: this process's).
        die_with_parent: the child gets SIGTERM when this process dies (see the module).
        capture_stdout: stdout is a pipe read by `stdout_text` (stderr alone goes to the log).
        mark_starts: each start writes a `=== start #N at T` line to the log first, so a
            reader can look at one run's output only (`log_since_start`).
    """

    def __init__(
        self,
        role: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        die_with_parent: bool = False,
        capture_stdout: bool = False,
        mark_starts: bool = False,
    ) -> None:
        self.role = role
        self.argv = list(argv)
        self.log_path = log_path
        self.env = None if env is None else dict(env)
        self.cwd = cwd
        self.die_with_parent = die_with_parent
        self.capture_stdout = capture_stdout
        self.mark_starts = mark_starts
        self.proc: subprocess.Popen[bytes] | None = None
        """The last process started (kept after it exits, for its exit code and stdout)."""
        self.starts = 0
        self.pids: list[int] = []
        self.killed_after_timeout = False
        """True when the last `term` had to SIGKILL: the process ignored SIGTERM."""

    # -- state -------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The PID while the process runs, else None."""
        return self.proc.pid if self.alive() and self.proc is not None else None

    def alive(self) -> bool:
        """True while the last process started runs."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def log(self) -> str:
        """The whole log so far ("" before the first start)."""
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_since_start(self, start: int) -> str:
        """What the `start`-th start (1-based) and later ones logged (needs `mark_starts`)."""
        parts = self.log.split("\n=== start #")
        return "\n=== start #".join(parts[start:]) if len(parts) > start else ""

    def stdout_text(self) -> str:
        """The last process's whole stdout (needs `capture_stdout`; blocks until it closes)."""
        if self.proc is None or self.proc.stdout is None:
            raise RuntimeError(f"{self.role}: stdout is not captured")
        return self.proc.stdout.read().decode()

    # -- start and readiness -------------------------------------------------------------------

    def start(self) -> Supervisor:
        """Start the process (not waiting for anything); returns self."""
        if self.alive():
            raise RuntimeError(f"{self.role} is already running (pid {self.pid})")
        self._close_pipe()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            if self.mark_starts:
                log.write(f"\n=== start #{self.starts + 1} at {time.time():.3f}\n".encode())
                log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE if self.capture_stdout else log,
                stderr=log if self.capture_stdout else subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                preexec_fn=die_with_parent if self.die_with_parent else None,  # noqa: PLW1509
            )
        self.starts += 1
        self.pids.append(self.proc.pid)
        return self

    def wait_ready(self, ready: Callable[[], bool], deadline_s: float, what: str) -> float:
        """Poll `ready` until it holds; returns the seconds it took.

        Raises:
            ProcessExited: the process exited first.
            TimeoutError: `deadline_s` passed first.
        """

        def holds() -> bool:
            if ready():
                return True
            if not self.alive():
                code = None if self.proc is None else self.proc.returncode
                raise ProcessExited(f"{self.role} exited ({code}) before {what}: {self.log_path}")
            return False

        return wait_until(f"{self.role}: {what}", holds, deadline_s, 0.02)

    # -- stop ----------------------------------------------------------------------------------

    def signal_term(self) -> None:
        """Send SIGTERM and return at once (`wait_stopped` waits): stop several at a time."""
        if self.alive() and self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 15.0) -> int | None:
        """Wait up to `timeout` for the exit; SIGKILL after that. Returns the exit code (None:
        never started)."""
        self.killed_after_timeout = False
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.killed_after_timeout = True
            self.proc.kill()
            self.proc.wait(KILL_WAIT_S)
        return self.proc.returncode

    def term(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not stopped in `timeout`. Returns the exit code."""
        self.signal_term()
        return self.wait_stopped(timeout)

    def kill(self) -> int | None:
        """SIGKILL: no cleanup, no last words (what a crash or an OOM kill does)."""
        if self.alive() and self.proc is not None:
            self.proc.kill()
        return self.wait_stopped(KILL_WAIT_S)

    def close(self) -> None:
        """Kill the process if it still runs and close its stdout pipe (test teardown)."""
        self.kill()
        self._close_pipe()

    def _close_pipe(self) -> None:
        # Left to the garbage collector, an open pipe raises a ResourceWarning.
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


__all__ = ["KILL_WAIT_S", "ProcessExited", "Supervisor", "die_with_parent"]
