"""What the independent AQDEF reader (`aqdefreader` 1.3.0, PyPI) parses from DFQ files, as
JSON on stdout. Run by tests/export/conftest.py with the reader's own venv, never imported by
the station's: aqdefreader needs numpy, pandas and chardet, which must stay out of the
station's venv (sqlite-utils imports them when present, and every station process grows by
~25 MB: the chaos run's RSS limits).

    READER_VENV/bin/python tests/export/aqdef_probe.py ENCODING FILE...

Each file is decoded in ENCODING (the one it was written in: the reader's own `read_dfq_file`
guesses with chardet, unreliably on short files), split into lines as `read_dfq_file` does,
and parsed by `aqdefreader.DfqFile`. Printed: one JSON object, `{"files": [...]}`, each file
`{"parts": [{"data": {K1xxx: value}, "characteristics": [{"data": {K2xxx: value},
"measurements": [...]}]}], "log": [...]}`: a measurement is the reader's `as_dictionary()`
with its datetime in ISO 8601 (naive, as parsed), and `log` is what the reader printed (its
warnings) while it parsed. Values are the reader's own types (it keeps `12.35` as text: its
number pattern knows only the decimal comma).

Only the standard library and aqdefreader: this file runs under another interpreter.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import aqdefreader


def measurement(m: Any) -> dict[str, Any]:
    d = dict(m.as_dictionary())
    when = d.get("datetime")
    d["datetime"] = when.isoformat() if isinstance(when, datetime) else when
    return d


def parsed(path: Path, encoding: str) -> dict[str, Any]:
    lines = path.read_bytes().decode(encoding).splitlines()
    log = io.StringIO()
    with contextlib.redirect_stdout(log):  # the reader prints its warnings
        dfq = aqdefreader.DfqFile(lines)
    parts = []
    for part in dfq.get_parts():
        chars = [
            {
                "data": {k: c.get_data(k) for k in c.get_data_keys()},
                "measurements": [measurement(m) for m in c.get_measurements()],
            }
            for c in part.get_characteristics()
        ]
        # Part has get_data(key) but no list of its keys: its parsed dict is read directly.
        data = dict(vars(part)["_Part__data"])
        parts.append({"data": data, "characteristics": chars})
    return {"parts": parts, "log": log.getvalue().splitlines()}


def main(argv: list[str]) -> int:
    encoding, *files = argv
    out = {"version": aqdefreader.__version__, "files": [parsed(Path(f), encoding) for f in files]}
    json.dump(out, sys.stdout, ensure_ascii=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
