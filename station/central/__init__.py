"""`station central`: the plant-side QMS bridge (contract station.md; mqtt.md "Several
consumers"): records from every station's stream on an MQTT 5 shared subscription, stored
once each in PostgreSQL, acked per station only once committed and contiguous, status per
station, master data published retained. Several replicas may run at once.

The public face: `run_central(config_path)` (what `station central -c FILE` calls),
`load_central_config`/`central_config_problems` (the TOML, checked), `CentralStore` (the
database). Behind it: `config`, `check` (one message judged), `migrations` (the schema),
`store` (the only psycopg user), `bridge` (the only paho user here), `run`.
"""

from station.central.config import (
    CentralConfig,
    CentralSettings,
    PostgresSettings,
    central_config_problems,
    load_central_config,
)
from station.central.run import run_bridge, run_central
from station.central.store import CentralStore, StoreUnavailable

__all__ = [
    "CentralConfig",
    "CentralSettings",
    "CentralStore",
    "PostgresSettings",
    "StoreUnavailable",
    "central_config_problems",
    "load_central_config",
    "run_bridge",
    "run_central",
]
