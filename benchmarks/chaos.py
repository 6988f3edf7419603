"""Soak and chaos: real processes, faults on a schedule, and proof that no record is lost.

    .venv/bin/python benchmarks/chaos.py                  # the full run (>= 10,000 inspections)
    .venv/bin/python benchmarks/chaos.py --short          # the CI run (tests/e2e), < 3 minutes
    .venv/bin/python benchmarks/chaos.py --help           # every count and duration is an option

On loopback only, it runs mosquitto (persistence off), `station sync` (through a TCP proxy,
`sim.tcp_proxy`, so the link can be cut), the reference central `python -m sim.central` (its
own SQLite file, straight to the broker) and, in this process, the bench: the real workflow
(`station.bench.workflow`) driven by a simulated operator, reading a simulated Mitutoyo gauge
on a pty through the real driver (`benchmarks/_chaos_operator.py`). While the operator inspects,
one fault at a time is injected, in this order, over and over:

  link-drop     the proxy resets every connection and refuses new ones, then restores
  broker-kill   mosquitto SIGKILLed (every session and queued message gone), restarted
  sync-kill     `station sync` SIGKILLed, restarted
  central-down  the central SIGKILLed (mid-batch), restarted
  gauge-unplug  the gauge's pty closed and its link removed, then plugged back in
  link-stall    the proxy forwards nothing but keeps connections open, then restores
  forged-ack    a raw client publishes acks the QMS never sent (seqs ahead, random
                hashes, no hash); "forged" counts records then marked delivered that the
                central does not hold (must be 0)
  poison        retained deep-nested, huge, 400-digit and binary messages on the ack and
                master topics, then a reconnect; the daemon must not die (0 restarts)
  clock-jump    the daemon restarted with its clock 400 days ahead (libfaketime; retention
                runs at its start) while the bench's clock is an hour back; "pruned" counts
                records gone from the store (all are minutes old: must be 0)
  bounce        every gauge press sends its frame twice in one write; "fabricated" counts
                second copies that filled a sample (must be 0)
  budget        the central stopped until undelivered records fill the (small) storage
                budget and the bench refuses new parts with the budget message; restarted

The attacks are in `benchmarks/_chaos_attacks.py`.

After each fault it measures the recovery (fault end → every record created until then
delivered, i.e. acked by the QMS). At the end it waits for the drain and compares the
station's store with the central's database record by record. Exit status 1 on any lost,
invalid, conflicting or gapped record, a broken chain, an unexpected answer of the bench, a
fault that did not take effect, an RSS limit exceeded or an RSS growth over --growth-mb; 0
otherwise (a peak over a project goal, e.g. issue 5's 40 MB for the daemon, is printed as a
warning). The human table goes to stdout, then the JSON summary as the last line (also written
to --json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from _chaos_attacks import ATTACKS, attack_summary
from _chaos_config import SITE, STATION, parse_args, write_config
from _chaos_operator import Operator, ShiftedClock, make_master
from _chaos_report import (
    FaultEpisode,
    episode_latency,
    latency_summary,
    rss_summary,
    table,
    verdict,
)
from _harness import (
    ROOT,
    RssSampler,
    central,
    log_mentions,
    machine,
    mosquitto_broker,
    station_sync,
)

from sim.net import free_port, wait_until
from sim.serial_gauge import SerialGaugeSim
from sim.supervisor import Supervisor
from sim.tcp_proxy import TcpProxy
from station.bench.inputs import InputReader
from station.bench.workflow import Workflow
from station.config import load_config
from station.master import load_master_dir
from station.settings import Config
from station.store import Store

KINDS = (
    "link-drop",
    "broker-kill",
    "sync-kill",
    "central-down",
    "gauge-unplug",
    "link-stall",
    "forged-ack",
    "poison",
    "clock-jump",
    "bounce",
    "budget",
)
# Peak RSS: goals are project targets (issue 5: the daemon <= 40 MB), reported as warnings;
# limits (about 1.5x a healthy run, 2x the daemon's goal) fail the run.
RSS_GOALS_MB = {"sync": 40.0}
RSS_LIMITS_MB = {"sync": 60.0, "central": 80.0, "mosquitto": 40.0, "bench": 150.0}


class Chaos:
    """The whole run: setup, the fault thread, the operator loop, drain, report."""

    def __init__(self, a: argparse.Namespace, work: Path) -> None:
        self.a = a
        self.work = work
        self.failures: list[str] = []
        self.episodes: list[FaultEpisode] = []
        self.stop = threading.Event()
        self.faults_done = threading.Event()
        self.site, self.station = SITE, STATION
        self.clock = ShiftedClock()
        self.forged = 0  # the most records ever marked delivered but not held centrally
        self.pruned = 0  # records gone from the station's store
        self.sync_crashes = 0  # the daemon found dead without a fault having killed it
        self.changed_master = make_master(ROOT / "config" / "master", work / "master", date.today())
        self.gauge = SerialGaugeSim("mitutoyo", work / "dev" / "caliper").start()
        self.broker = mosquitto_broker(work, free_port(), max_queued=a.max_queued)
        self.proxy = TcpProxy("127.0.0.1", self.broker.port).start()
        self.config_path = write_config(work, a, self.proxy.port, self.gauge.path)
        self.cfg: Config = load_config(self.config_path)
        self.store = self._open_store()
        docs, problems = load_master_dir(work / "master")
        if problems:
            raise SystemExit(f"generated master data is invalid: {problems}")
        self.store.bootstrap_master((d.kind, d.id, d.doc) for d in docs)
        self.central_db = work / "central.db"
        self.central: Supervisor = central(self.broker.port, self.central_db, work / "central.log")
        self.sync: Supervisor = station_sync(self.config_path, work / "sync.log")
        wf = Workflow(self.store, self.cfg, self.clock)
        reader = InputReader(self.cfg.input("caliper"))
        run_id = f"R{a.seed % 10_000:04d}"
        self.op = Operator(wf, self.gauge, reader, rng=random.Random(a.seed), run_id=run_id)
        self.rss = RssSampler(
            {
                "mosquitto": lambda: self.broker.pid,
                "sync": lambda: self.sync.pid,
                "central": lambda: self.central.pid,
                "bench": os.getpid,
            }
        )

    def _open_store(self) -> Store:
        return Store.open(
            self.cfg.station.db_path,
            site=SITE,
            station=STATION,
            budget_mb=self.cfg.station.storage_budget_mb,
            clock=self.clock,
        )

    # -- start and stop ----------------------------------------------------------------------

    def start(self) -> None:
        self.broker.start()
        self.central.start()
        wait_until("central connected", self._central_up, 30)
        self.sync.start()
        wait_until("sync daemon connected", self._sync_up, 30)
        self.op.start()
        self.rss.start()

    def _central_up(self) -> bool:
        return log_mentions(self.central, "connected (session")

    def _sync_up(self) -> bool:
        return log_mentions(self.sync, "connected to")

    def close(self) -> None:
        self.rss.stop()
        self.op.stop()
        for proc in (self.sync, self.central, self.broker):
            proc.term()
        self.proxy.stop()
        self.gauge.stop()
        self.store.close()

    # -- faults (their own thread, with their own store handle) --------------------------------

    def fault_loop(self) -> None:
        store = self._open_store()
        try:
            cycle = 0
            while not self.stop.is_set():
                for kind in KINDS:
                    if self.stop.is_set():
                        return
                    self._fault(kind, store)
                    self.stop.wait(self.a.gap)
                cycle += 1
                enough = self.op.stats.inspections >= self.a.inspections
                if cycle >= self.a.cycles and enough:
                    return
        except Exception as exc:
            self.failures.append(f"fault thread: {exc!r}")
            traceback.print_exc()
        finally:
            self._restore_all()
            store.close()
            self.faults_done.set()

    def _fault(self, kind: str, store: Store) -> None:
        ep = FaultEpisode(kind, time.time())
        self.episodes.append(ep)
        if not self.sync.alive():  # nothing but a fault stops it: a crash (or a bad exit)
            self.sync_crashes += 1
            self.failures.append(f"station sync found dead before {kind}; restarted")
            self.sync.start()
        print(f"[{time.strftime('%H:%M:%S')}] fault {kind}", file=sys.stderr, flush=True)
        # What breaks, for how long, and what mends it (budget and gauge-unplug: below).
        outages: dict[str, tuple[Callable[[], object], float, Callable[[], object]]] = {
            "link-drop": (self.proxy.drop, self.a.outage, self.proxy.restore),
            "link-stall": (self.proxy.stall, self.a.stall, self.proxy.restore),
            "broker-kill": (self.broker.kill, self.a.outage, self.broker.start),
            "sync-kill": (self.sync.kill, self.a.outage, self.sync.start),
            "central-down": (self.central.kill, self.a.outage, self.central.start),
        }
        if kind in outages:
            breaks, lasts, mends = outages[kind]
            breaks()
            self.stop.wait(lasts)
            mends()
        elif kind == "gauge-unplug":
            self.gauge.unplug()
            self.stop.wait(self.a.outage)
            readings = self.op.stats.readings
            self.gauge.replug()
            ep.detail["first_value_after_replug_s"] = round(
                wait_until(
                    "a gauge value after the replug",
                    lambda: self.op.stats.readings > readings or self.stop.is_set(),
                    60.0,
                    0.01,
                ),
                2,
            )
        elif kind in ATTACKS:
            ATTACKS[kind](self, ep, store)
            if kind == "poison" and not ep.detail["sync_alive"]:
                self.sync_crashes += 1
                if not self.sync.alive():
                    self.sync.start()
        elif kind == "budget":
            self._budget(ep)
        ep.end = time.time()
        ep.last_seq_at_end = store.last_seq()
        try:
            ep.recovery_s = wait_until(
                f"recovery after {kind}",
                lambda: store.delivered_seq() >= ep.last_seq_at_end,
                self.a.recovery_timeout,
                0.1,
            )
        except TimeoutError as exc:
            self.failures.append(str(exc))

    def _budget(self, ep: FaultEpisode) -> None:
        before = self.op.stats.budget_refusals
        self.central.term()
        try:
            waited = wait_until(
                "storage budget reached",
                lambda: self.op.stats.budget_refusals > before or self.stop.is_set(),
                self.a.recovery_timeout,
            )
            ep.detail["filled_after_s"] = round(waited, 1)
            self.stop.wait(self.a.budget_hold)
        except TimeoutError as exc:
            self.failures.append(f"budget fault: {exc}")
        self.central.start()
        t0 = time.monotonic()
        episodes = len(self.op.stats.refusal_episodes)
        try:
            wait_until(
                "inspections accepted again",
                lambda: len(self.op.stats.refusal_episodes) > episodes or self.stop.is_set(),
                self.a.recovery_timeout,
            )
            ep.detail["relieved_after_s"] = round(time.monotonic() - t0, 1)
        except TimeoutError as exc:
            self.failures.append(f"budget fault: {exc}")
        ep.detail["refusals"] = self.op.stats.budget_refusals - before

    def _restore_all(self) -> None:
        try:
            self.proxy.restore()
            if not self.gauge.device.plugged:
                self.gauge.replug()
            for proc in (self.broker, self.central, self.sync):
                if not proc.alive():
                    proc.start()
        except Exception as exc:
            self.failures.append(f"restoring after the faults: {exc!r}")

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        t0 = time.monotonic()
        faults = threading.Thread(target=self.fault_loop, name="faults", daemon=True)
        faults.start()
        part = 0
        pace = 1.0 / self.a.rate if self.a.rate > 0 else 0.0
        next_at = time.monotonic()
        while not (self.faults_done.is_set() and self.op.stats.inspections >= self.a.inspections):
            if time.monotonic() - t0 > self.a.max_seconds:
                self.failures.append(f"time limit of {self.a.max_seconds:.0f}s reached")
                break
            if pace:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at + pace, time.monotonic() - 1.0)
            try:
                inspected = self.op.inspect(part)
            except Exception as exc:  # a bench that cannot go on fails the run, with the cause
                self.failures.append(f"inspection of part {part}: {exc!r}")
                traceback.print_exc()
                break
            if inspected:
                part += 1
            else:
                time.sleep(0.2)  # refused: the operator waits and scans the part again
        self.stop.set()
        faults.join(timeout=self.a.recovery_timeout + 60)
        inspect_s = time.monotonic() - t0
        t1 = time.monotonic()
        try:
            wait_until("drain", lambda: self.store.status().pending == 0, self.a.drain_timeout, 0.1)
        except TimeoutError as exc:
            self.failures.append(str(exc))
        drain_s = time.monotonic() - t1
        self.rss.sample()
        self.rss.stop()
        sync_exit = self.sync.term()
        if sync_exit != 0:
            self.failures.append(f"station sync exited {sync_exit} on SIGTERM (expected 0)")
        self.central.term()
        return self.report(inspect_s, drain_s, time.monotonic() - t0)

    def report(self, inspect_s: float, drain_s: float, elapsed: float) -> dict[str, Any]:
        v = verdict(self.store, self.central_db, SITE, STATION)
        delivery = v.pop("delivery")
        for ep in self.episodes:  # stamped by a clock set an hour back: not a creation time
            if "shifted_seqs" in ep.detail:
                first, last = ep.detail["shifted_seqs"]
                for seq in range(first, last + 1):
                    delivery.created.pop(seq, None)
                    delivery.arrived.pop(seq, None)
        faults: dict[str, Any] = {}
        for ep in self.episodes:
            f = faults.setdefault(
                ep.kind,
                {
                    "count": 0,
                    "recovery_max_s": None,
                    "latency_max_s": None,
                    "caught_up_max_s": None,
                },
            )
            f["count"] += 1
            lat = episode_latency(delivery, ep)
            for key, val in (
                ("recovery_max_s", ep.recovery_s),
                ("latency_max_s", lat["max_latency_s"]),
                ("caught_up_max_s", lat["caught_up_after_end_s"]),
            ):
                if val is not None:
                    f[key] = round(max(f[key] or 0.0, float(val)), 2)
            f.setdefault("episodes", []).append(
                {"at_s": round(ep.start - self.episodes[0].start, 1), **ep.detail, **lat}
            )
        rss, rss_bad, rss_warn = rss_summary(
            self.rss.samples, RSS_GOALS_MB, RSS_LIMITS_MB, self.a.growth_mb
        )
        ops = self.op.stats.as_dict()
        fails = self.failures + v["failures"]
        if ops["unexpected"]:
            fails.append(f"unexpected bench answers: {ops['unexpected']}")
        missing = [k for k in KINDS if k not in faults]
        if missing:
            fails.append(f"faults never injected: {missing}")
        if "budget" in faults and not self.op.stats.budget_message:
            fails.append("the storage budget never refused an inspection")
        fails += rss_bad
        attacks = attack_summary(self)
        for key, what in (
            ("forged", "records marked delivered that the central does not hold"),
            ("sync_crashes", "unexpected exits of station sync"),
            ("pruned", "records pruned from the store under a shifted clock"),
            ("fabricated", "samples fabricated from a bounced press"),
        ):
            if attacks[key]:
                fails.append(f"{attacks[key]} {what}")
        return {
            "ok": not fails,
            "failures": fails,
            "warnings": rss_warn,
            "counts": v["counts"],
            "attacks": attacks,
            "chain": v["chain"],
            "latency": latency_summary(delivery),
            "faults": faults,
            "operator": ops,
            "inspections_per_s": round(self.op.stats.inspections / inspect_s, 1),
            "drain_s": round(drain_s, 1),
            "elapsed_s": round(elapsed, 1),
            "rss": rss,
            "proxy": self.proxy.stats().as_dict(),
            "restarts": {p.role: p.starts - 1 for p in (self.broker, self.sync, self.central)},
            "master_dates_moved": self.changed_master,
            "settings": {k: v for k, v in vars(self.a).items() if k not in ("workdir", "json")},
            "machine": machine(),
            "workdir": str(self.work),
        }


def verify_only(work: Path) -> int:
    """`--verify DIR`: re-check a finished run's files (store against central), nothing else."""
    with Store.open(work / "data" / "station.db", site=SITE, station=STATION) as store:
        v = verdict(store, work / "central.db", SITE, STATION)
    v.pop("delivery")
    v["ok"] = not v["failures"]
    print(json.dumps(v, sort_keys=True))
    return 0 if v["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    # SIGTERM (a CI timeout, Ctrl-C's cousin) unwinds through the `finally` below, which stops
    # every process this run started instead of leaving them behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if a.verify is not None:
        return verify_only(a.verify)
    work = a.workdir or Path(tempfile.mkdtemp(prefix="station-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=work / "bench.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    chaos = Chaos(a, work)
    try:
        chaos.start()
        summary = chaos.run()
    finally:
        chaos.close()
    print(table(summary))
    text = json.dumps(summary, sort_keys=True)
    if a.json:
        a.json.write_text(text + "\n")
    print(text, flush=True)
    if summary["ok"] and a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
