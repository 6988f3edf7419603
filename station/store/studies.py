"""The gauge studies recorded at this station, as the study gate reads them (issue 17).

A mixin of `station.store.Store`. The gate (`station.core.studygate`) is asked on every
inspection reading, so the query must cost next to nothing: the `study` records are read
once, then only those appended since (a range on the records' primary key), and the newest
result per instrument and kind is kept in memory. Study records are rare (a few a year per
instrument) and only the bench appends them; a record appended by another `Store` on the same
file is picked up too, since the catch-up reads by seq, not by what this object wrote.

The study records are found through `ix_study` (instrument, kind, seq; one row per study,
written in the record's transaction), so even the first read is an index lookup, not a scan of
a million records. Retention keeps the newest study of each gated kind of every instrument
that is not retired (`station.store.retention`), so pruning never makes the gate forget an
`unacceptable` verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from station.core.studygate import GATED_KINDS, StudyResult, result_of_study
from station.store.base import StoreBase
from station.store.model import Record


@dataclass
class _StudyCache:
    seen: int = 0  # the highest seq read
    latest: dict[tuple[str, str], StudyResult] = field(default_factory=dict)


class StudiesMixin(StoreBase):
    """The latest gauge study per instrument and kind."""

    _study_cache: _StudyCache | None = None

    def study_results(self, instrument_id: str | None = None) -> list[StudyResult]:
        """The newest `type-1` and `grr` result of each instrument recorded here (of
        `instrument_id` only, when given), oldest kind first."""
        cache = self._study_cache
        if cache is None:
            cache = self._study_cache = _StudyCache()
        with self._guard("read the gauge studies") as conn:
            rows = conn.execute(
                "SELECT r.envelope, r.hash, r.seq FROM ix_study s JOIN records r "
                "ON r.seq = s.seq WHERE s.seq > ? ORDER BY s.seq",
                (cache.seen,),
            ).fetchall()
        for text, digest, seq in rows:
            result = result_of_study(Record.from_text(text, digest).body)
            if result.kind in GATED_KINDS:
                cache.latest[(result.instrument, result.kind)] = result
            cache.seen = max(cache.seen, int(seq))
        return [
            r
            for (iid, _), r in sorted(cache.latest.items())
            if instrument_id is None or iid == instrument_id
        ]


__all__ = ["StudiesMixin"]
