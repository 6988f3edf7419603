"""Process capability: Cp, Cpk (within sigma) and Pp, Ppk (overall sigma).

Definitions (Montgomery, *Introduction to SQC*, ch. 8; AIAG SPC manual; NIST/SEMATECH
e-Handbook §6.1.6):

- Cp = (USL - LSL) / 6σ_within; Cpu = (USL - μ) / 3σ_within; Cpl = (μ - LSL) / 3σ_within;
  Cpk = min(Cpu, Cpl). σ_within comes from the control chart (MR̄/d2, R̄/d2 or S̄/c4:
  `ControlLimits.sigma`): the short-term variation the process shows when in control.
- Pp, Ppu, Ppl, Ppk: the same with σ_overall, the sample standard deviation (n - 1) of all
  values, which also contains any drift between subgroups.
- μ is the mean of the values given.

One-sided specifications: with only USL, Cpk = Cpu and Ppk = Ppu; with only LSL, Cpk = Cpl and
Ppk = Ppl; Cp and Pp need both limits and are None. Nothing is ever divided by zero: an index
that cannot be computed is None and `notes` says why, so the UI can show the reason instead of
a number. Indices are not rounded here; the UI rounds for display.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from station.core.spc_charts import SpcError, check_finite, mean_stdev


@dataclass(frozen=True)
class Capability:
    """Capability indices and the data they rest on; None indices are explained in `notes`."""

    n: int
    mean: float | None
    sigma_within: float | None
    sigma_overall: float | None
    cp: float | None
    cpu: float | None
    cpl: float | None
    cpk: float | None
    pp: float | None
    ppu: float | None
    ppl: float | None
    ppk: float | None
    notes: tuple[str, ...] = ()


def capability(
    values: Sequence[float],
    lsl: float | None,
    usl: float | None,
    within_sigma: float | None,
) -> Capability:
    """Capability of `values` against the specification limits.

    `within_sigma` is the control chart's sigma estimate (None when no chart limits exist yet).
    Raises SpcError for non-finite input, a negative sigma, or lsl >= usl; everything that is
    merely not computable (too few values, zero sigma, missing limits) yields None plus a note.
    """
    check_finite(values, "capability value")
    for name, lim in (("lsl", lsl), ("usl", usl)):
        if lim is not None and not math.isfinite(lim):
            raise SpcError(f"capability {name} must be finite or None, got {lim!r}")
    if lsl is not None and usl is not None and not lsl < usl:
        raise SpcError(f"capability needs lsl < usl, got lsl={lsl!r} usl={usl!r}")
    if within_sigma is not None and not (math.isfinite(within_sigma) and within_sigma >= 0):
        raise SpcError(f"within sigma must be a finite number >= 0, got {within_sigma!r}")

    notes: list[str] = []
    n = len(values)
    mean = math.fsum(values) / n if n else None
    if lsl is None and usl is None:
        notes.append("no specification limits: capability is not defined")
    elif lsl is None or usl is None:
        notes.append(
            f"one-sided specification (only {'usl' if lsl is None else 'lsl'}): Cp and Pp "
            "need both limits"
        )
    if n == 0:
        notes.append("no values")

    overall: float | None = None
    if n >= 2:
        # Issue 12.4: constant data has an overall sigma of exactly 0, so the "sigma is 0"
        # note applies instead of a Pp of 1e15 from rounding noise.
        mean, overall = mean_stdev(values)
    elif n == 1:
        notes.append("overall sigma needs at least 2 values, got 1: Pp and Ppk not computed")

    within = _indices(mean, lsl, usl, within_sigma, kind="within", names="Cp and Cpk", notes=notes)
    total = _indices(mean, lsl, usl, overall, kind="overall", names="Pp and Ppk", notes=notes)
    return Capability(
        n, mean, within_sigma, overall, *within, *total, notes=tuple(dict.fromkeys(notes))
    )


def _indices(
    mean: float | None,
    lsl: float | None,
    usl: float | None,
    sigma: float | None,
    *,
    kind: str,
    names: str,
    notes: list[str],
) -> tuple[float | None, float | None, float | None, float | None]:
    """(C, Cu, Cl, Ck) for one sigma; all None with a note when sigma is missing or zero."""
    if mean is None or (lsl is None and usl is None):
        return None, None, None, None
    if sigma is None:
        if kind == "within":
            notes.append(f"no {kind} sigma (no control limits yet): {names} not computed")
        return None, None, None, None
    if sigma == 0.0:
        notes.append(f"{kind} sigma is 0: {names} would divide by zero, not computed")
        return None, None, None, None
    c = (usl - lsl) / (6.0 * sigma) if lsl is not None and usl is not None else None
    cu = (usl - mean) / (3.0 * sigma) if usl is not None else None
    cl = (mean - lsl) / (3.0 * sigma) if lsl is not None else None
    ck = min(v for v in (cu, cl) if v is not None)
    return c, cu, cl, ck
