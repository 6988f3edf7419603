"""What the chaos run proves, computed from the two databases after the drain.

Loss is decided by comparing record ids and hashes, the station's store against the central's
SQLite file, one by one; nothing here trusts a counter. Latency is creation (`ts`, stamped by
the station's store) to the central's first durable insert (`received_at`), both UTC on the
same machine. RSS figures come from the /proc samples of each role.
"""

from __future__ import annotations

import sqlite3
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim._central_db import read_summary
from station.core.timefmt import parse_ts
from station.store import Store


def epoch(ts: str) -> float:
    """A contract timestamp (the station's `ts`, the central's `received_at`) → epoch s."""
    return parse_ts(ts).timestamp()


@dataclass
class FaultEpisode:
    """One injected fault: its kind, when it began and ended (wall clock), what it did."""

    kind: str
    start: float
    end: float = 0.0
    last_seq_at_end: int = 0
    recovery_s: float | None = None  # fault end → every record created until then delivered
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """Per-record creation and first durable arrival at the central."""

    created: dict[int, float]  # seq -> epoch
    arrived: dict[int, float]  # seq -> epoch


def station_records(store: Store) -> dict[int, tuple[str, str, str]]:
    """seq -> (id, hash, ts) of every record in the station's store."""
    out: dict[int, tuple[str, str, str]] = {}
    after = 0
    while batch := store.records(after_seq=after, limit=5000):
        for r in batch:
            out[r.seq] = (r.id, r.hash, r.ts)
        after = batch[-1].seq
    return out


def central_records(db: Path, site: str, station: str) -> dict[int, tuple[str, str, str]]:
    """seq -> (id, hash, received_at) of the station's records held by the central."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT seq, id, hash, received_at FROM records WHERE site = ? AND station = ?",
            (site, station),
        ).fetchall()
    finally:
        conn.close()
    return {int(s): (str(i), str(h), str(at)) for s, i, h, at in rows}


def compare(
    ours: dict[int, tuple[str, str, str]], theirs: dict[int, tuple[str, str, str]]
) -> dict[str, Any]:
    """Lost = in the store but not at the central with the same id and hash."""
    lost = [s for s, (i, h, _) in ours.items() if theirs.get(s, ("", "", ""))[:2] != (i, h)]
    foreign = [s for s in theirs if s not in ours]
    return {"lost": len(lost), "lost_seqs": sorted(lost)[:20], "unknown_at_central": len(foreign)}


def verdict(store: Store, central_db: Path, site: str, station: str) -> dict[str, Any]:
    """Counts, chain checks and failures: the station's store against the central's file.

    Used at the end of a run and by `benchmarks/chaos.py --verify DIR` on a finished run's files.
    """
    status = store.status()
    chain = store.verify()
    ours = station_records(store)
    theirs = central_records(central_db, site, station)
    cmp = compare(ours, theirs)
    summ = read_summary(central_db)
    st = summ["stations"].get(f"{site}/{station}", {})
    counts = {
        "created": status.last_seq,
        "delivered": status.delivered_seq,
        "pending": status.pending,
        "unique_at_central": st.get("unique", 0),
        "duplicates_absorbed": st.get("duplicates", 0),
        "lost": cmp["lost"],
        "invalid": summ["invalid"],
        "conflicts": summ["conflicts"],
        "gaps": summ["gaps"],
    }
    fails: list[str] = []
    if cmp["lost"]:
        fails.append(f"{cmp['lost']} records lost (first seqs {cmp['lost_seqs']})")
    for key in ("invalid", "conflicts", "gaps", "pending"):
        if counts[key]:
            fails.append(f"{counts[key]} {key}")
    if counts["unique_at_central"] != status.last_seq:
        fails.append(f"the central holds {counts['unique_at_central']} of {status.last_seq}")
    if not chain.ok:
        fails.append(f"station chain broken at seq {chain.first_bad_seq}: {chain.reason}")
    if not summ["chain_valid"]:
        fails.append("the central's chain check failed")
    return {
        "counts": counts,
        "chain": {"station": chain.ok, "central": summ["chain_valid"]},
        "failures": fails,
        "delivery": latencies(ours, theirs),
    }


def latencies(
    ours: dict[int, tuple[str, str, str]], theirs: dict[int, tuple[str, str, str]]
) -> Delivery:
    created = {s: epoch(ts) for s, (_, _, ts) in ours.items()}
    arrived = {s: epoch(at) for s, (_, _, at) in theirs.items() if s in ours}
    return Delivery(created, arrived)


def latency_summary(d: Delivery) -> dict[str, float]:
    lat = sorted(max(0.0, d.arrived[s] - d.created[s]) for s in d.arrived)
    if not lat:
        return {}
    return {
        "p50_s": round(statistics.median(lat), 3),
        "p99_s": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3),
        "max_s": round(lat[-1], 3),
    }


def episode_latency(d: Delivery, ep: FaultEpisode) -> dict[str, float | int | None]:
    """Records created while the fault lasted: how long the slowest took to reach the QMS,
    and how long after the fault ended the last of them arrived."""
    seqs = [s for s, t in d.created.items() if ep.start <= t <= ep.end]
    got = [s for s in seqs if s in d.arrived]
    if not got:
        return {"records": len(seqs), "max_latency_s": None, "caught_up_after_end_s": None}
    return {
        "records": len(seqs),
        "max_latency_s": round(max(d.arrived[s] - d.created[s] for s in got), 2),
        "caught_up_after_end_s": round(max(0.0, max(d.arrived[s] for s in got) - ep.end), 2),
    }


def rss_summary(
    samples: dict[str, list[tuple[float, int]]],
    goals_mb: dict[str, float],
    limits_mb: dict[str, float],
    growth_mb: float,
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Peak and growth per role; growth = peak of the last third - peak of the first third
    (after the first 10% of the run, which is start-up).

    Returns (figures, failures, warnings): a peak over its limit or a growth over
    `growth_mb` fails the run; a peak over its goal (a project target, e.g. issue 5's 40 MB
    for the daemon) is a warning, reported in the summary and the table.
    """
    out: dict[str, Any] = {}
    bad: list[str] = []
    warn: list[str] = []
    for role, pts in samples.items():
        if not pts:
            continue
        kb = [k for _, k in pts]
        t_end = pts[-1][0]
        warm = [k for t, k in pts if t >= 0.1 * t_end] or kb
        third = max(1, len(warm) // 3)
        growth = (max(warm[-third:]) - max(warm[:third])) / 1024
        peak = max(kb) / 1024
        series = [round(kb[i] / 1024, 1) for i in range(0, len(kb), max(1, len(kb) // 12))]
        goal, limit = goals_mb.get(role), limits_mb.get(role)
        out[role] = {
            "samples": len(kb),
            "peak_mb": round(peak, 1),
            "median_mb": round(statistics.median(kb) / 1024, 1),
            "growth_mb": round(growth, 1),
            "goal_mb": goal,
            "limit_mb": limit,
            "over_time_mb": series,
        }
        if limit is not None and peak > limit:
            bad.append(f"{role}: peak RSS {peak:.1f} MB > limit {limit:.0f} MB")
        elif goal is not None and peak > goal:
            warn.append(f"{role}: peak RSS {peak:.1f} MB is over its goal of {goal:.0f} MB")
        if growth > growth_mb:
            bad.append(f"{role}: RSS grew {growth:.1f} MB over the run > bound {growth_mb:.0f} MB")
    return out, bad, warn


def table(summary: dict[str, Any]) -> str:
    """The human-readable part of the report."""
    s = summary
    c = s["counts"]
    rows = [
        ("inspections", f"{s['operator']['inspections']:,}"),
        ("records created (station)", f"{c['created']:,}"),
        ("delivered (station, acked by QMS)", f"{c['delivered']:,}"),
        ("unique at the central", f"{c['unique_at_central']:,}"),
        ("duplicates absorbed", f"{c['duplicates_absorbed']:,}"),
        ("LOST", f"{c['lost']:,}"),
        ("invalid / conflicts / gaps", f"{c['invalid']} / {c['conflicts']} / {c['gaps']}"),
        ("chain valid (station / central)", f"{s['chain']['station']} / {s['chain']['central']}"),
        ("latency p50 / p99 / max", _lat(s["latency"])),
        ("drain after the last fault", f"{s['drain_s']:.1f} s"),
        ("budget refusals", f"{s['operator']['budget_refusals']}"),
        ("FORGED (delivered, not at central)", f"{s['attacks']['forged']}"),
        ("sync crashes (poison, any fault)", f"{s['attacks']['sync_crashes']}"),
        ("PRUNED under a shifted clock", f"{s['attacks']['pruned']}"),
        ("FABRICATED samples (bounce)", f"{s['attacks']['fabricated']}"),
        ("run time", f"{s['elapsed_s']:.0f} s"),
    ]
    w = max(len(k) for k, _ in rows)
    out = ["", "chaos run", "-" * (w + 24)]
    out += [f"{k:<{w}}  {v}" for k, v in rows]
    out += ["", f"{'fault':<14}{'n':>3}  {'recovery max':>12}  {'latency max':>11}  caught up"]
    for kind, f in s["faults"].items():
        out.append(
            f"{kind:<14}{f['count']:>3}  {_s(f['recovery_max_s']):>12}  "
            f"{_s(f['latency_max_s']):>11}  {_s(f['caught_up_max_s'])}"
        )
    out += ["", f"{'process':<10}{'peak MB':>8}{'median':>8}{'growth':>8}{'goal':>6}{'limit':>7}"]
    for role, r in s["rss"].items():
        goal = "-" if r["goal_mb"] is None else f"{r['goal_mb']:.0f}"
        limit = "-" if r["limit_mb"] is None else f"{r['limit_mb']:.0f}"
        out.append(
            f"{role:<10}{r['peak_mb']:>8.1f}{r['median_mb']:>8.1f}{r['growth_mb']:>8.1f}"
            f"{goal:>6}{limit:>7}"
        )
    out += [f"warning: {w}" for w in s["warnings"]]
    out += ["", "verdict: " + ("PASS" if s["ok"] else "FAIL: " + "; ".join(s["failures"])), ""]
    return "\n".join(out)


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


def _lat(lat: dict[str, float]) -> str:
    if not lat:
        return "-"
    return f"{lat['p50_s']:.2f} / {lat['p99_s']:.2f} / {lat['max_s']:.1f} s"
