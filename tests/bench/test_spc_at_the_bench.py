"""SPC at the bench: baseline frozen, a drift fires Nelson rule 2, the next part waits for a cause.

Bore diameter of plan P-1001 rev C has an I-MR chart with baseline 25 (config/master).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.base import Reading
from station.bench.workflow import Mode, Workflow
from station.schemas import schema_errors
from station.store import Store

RD = Callable[[float, str | None, str], Reading]
# A stable process around 12.35 mm: 25 values with spread (mean 12.35).
BASELINE = [12.35, 12.36, 12.34, 12.35, 12.37, 12.33, 12.35, 12.36, 12.34, 12.35,
            12.36, 12.34, 12.35, 12.35, 12.37, 12.33, 12.35, 12.36, 12.34, 12.35,
            12.36, 12.34, 12.35, 12.35, 12.35]  # fmt: skip


def inspect(wf: Workflow, rd: RD, bore: float) -> None:
    n = wf.scan("PN-778")
    assert n.level == "ok", n.lines()
    wf.reading("caliper", rd(bore, "mm", f"01A+00{bore:.3f}"))
    wf.reading("caliper", rd(25.0, "mm", "01A+0025.000"))
    wf.judge_attribute(True)


def test_drift_fires_rule_2_and_blocks_the_next_part_until_a_cause_is_given(
    wf: Workflow, store: Store, rd: RD
) -> None:
    wf.scan("B-1017")
    wf.scan("CAL-0042")
    for v in BASELINE:
        inspect(wf, rd, v)
        assert not wf.state.spc_alerts
    limits = store.spc_limits("P-1001", "C", "bore-dia")
    assert limits is not None and abs(limits["location"]["center"] - 12.35) < 1e-9
    baseline_events = [
        r for r in store.records() if r.type == "event" and r.body["kind"] == "spc-baseline"
    ]
    assert len(baseline_events) == 1
    # The process drifts up: all within tolerance (usl 12.4), nine in a row above the centre.
    for i in range(9):
        inspect(wf, rd, 12.36 + (0.001 * (i % 2)))
    assert [a.rule for a in wf.state.spc_alerts] == ["nelson-2"]
    assert wf.state.mode is Mode.SPC_SIGNAL
    refused = wf.scan("PN-778")
    assert refused.level == "error" and "SPC signal" in refused.text
    assert wf.acknowledge_spc("made-up", "").level == "error"
    assert wf.acknowledge_spc("tool-wear", "insert changed at 10:40").level == "ok"
    signal = [r for r in store.records() if r.type == "event" and r.body["kind"] == "spc-signal"]
    assert len(signal) == 1
    detail = signal[0].body["detail"]
    assert detail["rule"] == "nelson-2" and detail["characteristic"] == "bore-dia"
    assert detail["cause"] == "tool-wear" and len(detail["points"]) == 9
    assert schema_errors("record", signal[0].envelope()) == []
    inspect(wf, rd, 12.35)  # the next part may start now
    view = wf.spc_view("bore-dia")
    assert view is not None and view.chart_rows and "Cpk" in view.capability_text


def test_spc_works_offline_from_the_store_alone(wf: Workflow, store: Store, rd: RD) -> None:
    # Nothing here touches MQTT: limits and rules come from the local store only.
    wf.scan("B-1017")
    wf.scan("CAL-0042")
    for v in BASELINE[:5]:
        inspect(wf, rd, v)
    shown = wf.spc_view("bore-dia")
    assert shown is not None and shown.limits_text == "baseline: 5/25 values collected"


def test_an_unacknowledged_signal_survives_a_bench_restart(
    wf: Workflow, store: Store, rd: RD, config: Any, clock: Any
) -> None:
    wf.scan("B-1017")
    wf.scan("CAL-0042")
    for v in BASELINE:
        inspect(wf, rd, v)
    for i in range(9):
        inspect(wf, rd, 12.36 + (0.001 * (i % 2)))
    assert wf.state.spc_alerts  # the bench dies here, before the cause is given
    wf2 = Workflow(store, config, clock)
    offered = wf2.load_unfinished()
    assert offered is not None and "SPC signal" in offered.text
    assert [a.rule for a in wf2.state.spc_alerts] == ["nelson-2"]
    wf2.scan("B-1017")
    assert wf2.state.mode is Mode.SPC_SIGNAL
    assert wf2.scan("PN-778").level == "error"
    assert wf2.acknowledge_spc("tool-wear", "").level == "ok"
    wf3 = Workflow(store, config, clock)  # acknowledged: nothing comes back
    assert wf3.load_unfinished() is None and wf3.state.spc_alerts == []
