"""Which bench keys are offered now (`BenchApp.check_action`): only those that make sense in
the workflow's mode, so the key bar stays short and a key never starts what the mode forbids.
Pure: reads the workflow's state and the config, changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from station.bench.inputs import InputReader
from station.bench.workflow import Mode, Workflow
from station.settings import Config


def offered(action: str, wf: Workflow, config: Config, readers: Sequence[InputReader]) -> bool:
    """True when the key bound to `action` may act now."""
    st = wf.state
    mode = st.mode
    if action == "judge" and mode is Mode.STUDY:
        return st.study is not None and st.study.attribute
    if action == "judge":
        return (
            mode is Mode.INSPECTING
            and st.plan is not None
            and any(c.kind == "attribute" for c in st.plan.characteristics)
        )
    if action == "redo":
        return mode in (Mode.INSPECTING, Mode.STUDY)
    if action == "poll":  # a study polls the instrument under study (`binding.poll_inputs_for`)
        polled = (Mode.INSPECTING, Mode.CHECK, Mode.CALIBRATION, Mode.STUDY)
        return mode in polled and any(r.mode == "poll" for r in readers)
    if action == "check":
        return mode is Mode.READY
    if action == "leave_check":
        return (
            mode in (Mode.CHECK, Mode.CALIBRATION)
            or st.calibration is not None
            or st.study is not None
        )
    if action == "abandon":
        return st.draft is not None and st.operator is not None
    if action == "logout":
        return st.operator is not None
    if action == "override":  # the interlock's signed door (`station.bench.override`)
        return mode is Mode.INSPECTING and config.interlock.allow_override
    if action == "due":  # a technician's list: not offered while a part is measured
        return mode in (Mode.IDLE, Mode.READY, Mode.CALIBRATION)
    return True  # details, history, quit


__all__ = ["offered"]
