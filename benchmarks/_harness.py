"""Real processes for the chaos and fleet runs: mosquitto, `station sync`, the reference
central, and a sampler of their resident memory and CPU time read from /proc; plus what the
sync benches share: a realistic inspection body, a pre-filled store and a raw paho publisher
(the baseline a daemon is compared with).

Each role is a `sim.supervisor.Supervisor` (it may be killed and restarted many times, under
new PIDs); its log file is appended across restarts, with a marker at each start, so a run
leaves one log per role. Readiness is observed (a port that accepts, a store that reports the
daemon online, a log line), never slept for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.mosquitto import Mosquitto, mosquitto_binary
from sim.net import wait_until
from sim.supervisor import Supervisor
from station.store import Store

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON = sys.executable
SITE = "plant-a"
TS = "2026-11-21T22:04:09.512Z"  # every timestamp of a synthetic record


def mosquitto_broker(workdir: Path, port: int, *, max_queued: int = 1000) -> Mosquitto:
    """mosquitto on a loopback port, persistence off (a SIGKILL loses every session)."""
    if mosquitto_binary() is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    log_types = ("error", "warning", "notice", "information")
    return Mosquitto(workdir, port, max_queued=max_queued, log_types=log_types, mark_starts=True)


def station_sync(config: Path, log_path: Path) -> Supervisor:
    """`station sync -c CONFIG` as the systemd unit runs it."""
    argv = [str(BIN / "station"), "sync", "-c", str(config)]
    return Supervisor("sync", argv, log_path, cwd=ROOT, mark_starts=True)


def central(port: int, db: Path, log_path: Path, *, site: str = "plant-a") -> Supervisor:
    """The reference central QMS (`python -m sim.central`) with its own SQLite file."""
    argv = [PYTHON, "-m", "sim.central", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--site", site, "--db", str(db)]
    return Supervisor("central", argv, log_path, cwd=ROOT, mark_starts=True)


def log_mentions(proc: Supervisor, text: str) -> bool:
    """True when `text` occurs in what the role logged since its latest start."""
    return text in proc.log_since_start(proc.starts)


def rss_kb(pid: int) -> int | None:
    """VmRSS of `pid` in kB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return None


@dataclass
class RssSampler:
    """Samples the RSS of every role once per `every` seconds, in a thread."""

    roles: dict[str, Callable[[], int | None]]  # role -> current pid (or None when down)
    every: float = 1.0
    samples: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    t0: float = field(default_factory=time.monotonic)

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        t = time.monotonic() - self.t0
        for role, pid_of in self.roles.items():
            pid = pid_of()
            kb = rss_kb(pid) if pid is not None else None
            if kb is not None:
                self.samples.setdefault(role, []).append((t, kb))


def cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by `pid` (proc(5): utime, stime); 0 when gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- synthetic records and the raw baseline ------------------------------------------------


def variable(
    name: str, value: float, nominal: float, lsl: float, usl: float, raw: str | None = None
) -> dict[str, Any]:
    """One passing variable measurement of an inspection body (contract mqtt.md, "Bodies")."""
    return {
        "characteristic": name,
        "sample": 1,
        "kind": "variable",
        "value": value,
        "unit": "mm",
        "raw": f"01A+{value:08.2f}" if raw is None else raw,
        "nominal": nominal,
        "lsl": lsl,
        "usl": usl,
        "rule": "simple",
        "u": None,
        "verdict": "pass",
        "instrument": "CAL-0042",
        "cal_due": "2027-06-30",
        "ts": TS,
    }


def inspection_body(i: int, measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """An accepted inspection of part serial `i` against plan P-1001 rev C."""
    return {
        "plan": {"id": "P-1001", "rev": "C"},
        "part": {"number": "PN-778", "serial": f"SN-{i:07d}", "lot": "L42", "scan": None},
        "operator": "op-17",
        "reason": "production",
        "started": TS,
        "completed": TS,
        "result": "accept",
        "measurements": measurements,
    }


def fill_store(
    path: Path, station: str, records: int, body: Callable[[int], dict[str, Any]]
) -> float:
    """A store at `path` holding `records` inspections `body(0)`, `body(1)`, …; returns
    the records appended per second (`Store.append_many`, 500 a transaction)."""
    t0 = time.perf_counter()
    with Store.open(path, site=SITE, station=station) as store:
        for start in range(0, records, 500):
            count = min(500, records - start)
            store.append_many([("inspection", body(start + k)) for k in range(count)])
    return records / (time.perf_counter() - t0)


def raw_publish(
    port: int,
    payloads: Sequence[tuple[str, bytes]],
    *,
    client_id: str,
    inflight: int = 20,
    queue_max: int = 10_000,
) -> float:
    """One plain paho client (MQTT v5, QoS 1, `inflight` in flight, paho's default 20):
    seconds from the first publish() to the last PUBACK.

    At most `queue_max` messages are handed to paho before their PUBACK: its queue is keyed
    by the 16-bit message id, so 100,000 publishes at once would clash and be refused
    (MQTT_ERR_QUEUE_SIZE; MQTT 5.0 §2.2.1: the Packet Identifier is 16 bits).
    """
    import paho.mqtt.client as mqtt  # only the sync benches need paho in this process
    from paho.mqtt.enums import CallbackAPIVersion

    done = threading.Event()
    room = threading.Semaphore(queue_max)
    acked = 0

    def on_publish(c: mqtt.Client, u: Any, mid: int, rc: Any, p: Any) -> None:
        nonlocal acked
        acked += 1
        room.release()
        if acked == len(payloads):
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_publish = on_publish
    client.max_inflight_messages_set(inflight)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        wait_until("raw publisher connected", client.is_connected, 10, 0.01)
        t0 = time.perf_counter()
        for topic, payload in payloads:
            if not room.acquire(timeout=60):
                raise RuntimeError(f"raw paho: no PUBACK for 60s ({acked} acked)")
            info = client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise RuntimeError(f"raw paho: publish refused: {mqtt.error_string(info.rc)}")
        if not done.wait(600):
            raise RuntimeError(f"raw paho: only {acked} of {len(payloads)} PUBACKs")
        return time.perf_counter() - t0
    finally:
        client.disconnect()
        client.loop_stop()


def machine() -> dict[str, object]:
    """What the figures were measured on (nproc, CPU model, RAM, kernel, versions)."""
    model = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    binary = mosquitto_binary()
    try:
        mosq = subprocess.run(
            [binary or "mosquitto", "-h"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0]
    except (OSError, IndexError):
        mosq = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "mosquitto": mosq,
    }
