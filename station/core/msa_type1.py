"""The Type-1 gauge study: repeatability and bias on one reference standard (Robert Bosch
GmbH, Booklet No. 10 "Capability of Measurement and Test Processes", 2010, §4.1 "Procedure 1";
VDA Volume 5 "Capability of Measurement Processes", 2nd ed. 2010, §4.2 / annex).

n readings (usually 50, at least 25) of a standard with reference value x_m by one operator:

- mean x̄, sample standard deviation s (n - 1), bias = x̄ - x_m;
- Cg  = 0.2·T/(6·s)            (20 % of the tolerance against the 6s spread);
- Cgk = (0.1·T - |x̄ - x_m|)/(3·s);
- the resolution as % of T, with a warning above 5 % (Booklet 10 §3: %RE <= 5 % of T);
- acceptable when Cg >= 1.33 and Cgk >= 1.33 (limits overridable: `cg`, `cgk`), else
  unacceptable. Cgk = Cg - |bias|/(3s), so Cgk <= Cg always.

When every reading is the same (s = 0) the gauge's resolution hides its variation: Cg and Cgk
are not computed (None) and the verdict is unacceptable with that reason, since the study
showed nothing about repeatability (Booklet 10 §3: the resolution must resolve the spread).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from station.core.msa_tables import MsaError

DEFAULT_LIMITS: dict[str, float] = {"cg": 1.33, "cgk": 1.33}
RESOLUTION_WARN_PCT = 5.0
RECOMMENDED_READINGS = 25


@dataclass(frozen=True)
class Type1Result:
    """What a Type-1 study found."""

    n: int
    mean: float
    s: float
    bias: float
    cg: float | None
    cgk: float | None
    resolution_pct: float | None
    verdict: Literal["acceptable", "unacceptable"]
    notes: tuple[str, ...] = ()


def type1(
    values: Sequence[float | Decimal],
    reference: float | Decimal,
    tolerance: float | Decimal,
    resolution: float | Decimal | None = None,
    limits: Mapping[str, float] | None = None,
) -> Type1Result:
    """Evaluate a Type-1 study (Bosch Booklet 10 §4.1)."""
    xs = [float(v) for v in values]
    if len(xs) < 2:
        raise MsaError(f"a Type-1 study needs at least 2 readings, got {len(xs)}")
    if not all(math.isfinite(x) for x in xs):
        raise MsaError("a Type-1 reading is not a finite number")
    t, ref = float(tolerance), float(reference)
    if t <= 0.0:
        raise MsaError(f"the tolerance must be positive, got {tolerance}")
    lim = {**DEFAULT_LIMITS, **(limits or {})}
    n = len(xs)
    mean = math.fsum(xs) / n
    s = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    bias = mean - ref
    notes: list[str] = []
    if n < RECOMMENDED_READINGS:
        notes.append(f"{n} readings: Booklet 10 asks for at least {RECOMMENDED_READINGS}")
    res_pct = None if resolution is None else 100.0 * float(resolution) / t
    if res_pct is not None and res_pct > RESOLUTION_WARN_PCT:
        notes.append(
            f"resolution is {res_pct:.3g} % of the tolerance, above {RESOLUTION_WARN_PCT:g} %"
        )
    if s == 0.0:
        notes.append("s = 0: the resolution hides the repeatability, Cg and Cgk not computed")
        return Type1Result(n, mean, s, bias, None, None, res_pct, "unacceptable", tuple(notes))
    cg = 0.2 * t / (6.0 * s)
    cgk = (0.1 * t - abs(bias)) / (3.0 * s)
    ok = cg >= lim["cg"] and cgk >= lim["cgk"]
    return Type1Result(
        n, mean, s, bias, cg, cgk, res_pct, "acceptable" if ok else "unacceptable", tuple(notes)
    )


__all__ = ["DEFAULT_LIMITS", "RECOMMENDED_READINGS", "RESOLUTION_WARN_PCT", "Type1Result", "type1"]
