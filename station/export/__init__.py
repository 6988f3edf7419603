"""Data out (`station export`, issue 18): the stored inspections as AQDEF (DFQ) files for
qs-STAT and other AQDEF readers, or as CSV for spreadsheets. Offline, from the local store,
streamed. The writers take records and a plan lookup, not the store, so the central bridge
reuses them.

- `source`: which inspections (site-calendar dates, plan), streamed; the plan revisions;
- `dfq`: the AQDEF writer; `csv_writer`: the CSV writer; `errors`: `ExportError`.
"""

from station.export.csv_writer import write_csv
from station.export.errors import ExportError
from station.export.source import ExportFilter, inspections, plan_lookup

__all__ = ["ExportError", "ExportFilter", "inspections", "plan_lookup", "write_csv"]
