"""Master data: validate QMS documents and turn them into the typed objects of the core.

Contract: `docs/contract/schemas/{plan,instrument,operator,standard}.schema.json` and
`mqtt.md` ("Master data"). Two sources feed the same checks: the `[master] dir` folder
(`folder.load_master_dir`) and retained MQTT messages, checked by the sync daemon
(`validation.validate_master`). `convert` builds the core's objects and the bench's snapshot.
"""

from station.master.convert import master_snapshot, to_model
from station.master.folder import folder_state, load_master_dir, parse_json
from station.master.validation import (
    BOUNDS,
    MASTER_KINDS,
    MAX_VALUE,
    REVISED_KINDS,
    Bound,
    MasterDataError,
    MasterDoc,
    MasterKind,
    semantic_errors,
    show_json,
    validate_master,
)

__all__ = [
    "BOUNDS",
    "MASTER_KINDS",
    "MAX_VALUE",
    "REVISED_KINDS",
    "Bound",
    "MasterDataError",
    "MasterDoc",
    "MasterKind",
    "folder_state",
    "load_master_dir",
    "master_snapshot",
    "parse_json",
    "semantic_errors",
    "show_json",
    "to_model",
    "validate_master",
]
