"""The gauge R&R example of AIAG MSA 4th ed., shared by the R&R tests (both methods)."""

from __future__ import annotations

from station.core.msa_grr import GrrReading

# AIAG MSA 4th ed. (2010), ch. III §B, the gauge R&R data sheet: 10 parts,
# appraisers A/B/C, 3 trials; rows are trials 1-3, columns parts 1-10. The same table is
# reproduced in W. McNeese, "Three Ways to Analyze a Gage R&R Study", BPI Consulting 2015.
AIAG = {
    "A": [[0.29, -0.56, 1.34, 0.47, -0.80, 0.02, 0.59, -0.31, 2.26, -1.36],
          [0.41, -0.68, 1.17, 0.50, -0.92, -0.11, 0.75, -0.20, 1.99, -1.25],
          [0.64, -0.58, 1.27, 0.64, -0.84, -0.21, 0.66, -0.17, 2.01, -1.31]],
    "B": [[0.08, -0.47, 1.19, 0.01, -0.56, -0.20, 0.47, -0.63, 1.80, -1.68],
          [0.25, -1.22, 0.94, 1.03, -1.20, 0.22, 0.55, 0.08, 2.12, -1.62],
          [0.07, -0.68, 1.34, 0.20, -1.28, 0.06, 0.83, -0.34, 2.19, -1.50]],
    "C": [[0.04, -1.38, 0.88, 0.14, -1.46, -0.29, 0.02, -0.46, 1.77, -1.49],
          [-0.11, -1.13, 1.09, 0.20, -1.07, -0.67, 0.01, -0.56, 1.45, -1.77],
          [-0.15, -0.96, 0.67, 0.11, -1.45, -0.49, 0.21, -0.49, 1.87, -2.16]],
}  # fmt: skip


def aiag_readings() -> list[GrrReading]:
    return [
        GrrReading(a, f"{p + 1:02d}", t + 1, v)
        for a, rows in AIAG.items()
        for t, row in enumerate(rows)
        for p, v in enumerate(row)
    ]


__all__ = ["AIAG", "aiag_readings"]
