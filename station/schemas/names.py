"""The contract's rule for names: station ids, sites, client ids, input names and the ids of
master data and their topics (contract station.md and mqtt.md: "topic-safe name, 1-64 of
A-Z a-z 0-9 . _ -"). One home, used by the config parser, master data, the store and sync."""

from __future__ import annotations

import re

# \Z, not $: `$` also matches before a final "\n", which would let "bench-01\n" through.
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
NAME_RULE = "must be 1-64 characters of A-Z a-z 0-9 . _ -"

__all__ = ["NAME_RE", "NAME_RULE"]
