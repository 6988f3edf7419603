"""The sync daemon (`station sync`), the only owner of paho: records out, acks and master data
in (contract mqtt.md).

Public face: `run_sync` (what the CLI calls), `SyncDaemon` (the paho-free logic, driven by a
`Link`), `PahoLink` (the one module that speaks paho) and `Topics`. Behind them:

- `daemon`: `SyncDaemon`, the delivery, ack and reconnect logic; `link`: the `Link` protocol,
  topics and the events a link posts (no paho);
- `window`: the in-flight window over the store's outbox; `pacing`: reconnect back-off and the
  publish rate; `security`: TLS, password and key files;
- `payload`: the bounded JSON parser for every inbound payload; `master_inbox`: master data
  from MQTT into the store; `notify`: sd_notify and the watchdog.
"""

from station.sync.daemon import SyncDaemon
from station.sync.link import Link, Topics
from station.sync.paho_link import PahoLink, run_sync

__all__ = ["Link", "PahoLink", "SyncDaemon", "Topics", "run_sync"]
