"""Read the station's TOML config once, into the frozen objects of `station.settings`.

The public face: `load_config` (raises `ConfigError` with every problem), `parse_config_file`
(one pass, for `station.config_check`), `system_zone`, `show_toml`. Behind it: `parse` (the
file and its `[station]`, `[mqtt]`, `[master]`, `[scanner]` tables), `inputs` (`[[inputs]]`
and the keys each driver takes), `signatures` (`[signatures]` and `[interlock]`) and `table`
(the typed reader that collects every problem).
"""

from station.config.inputs import BAUDRATES, COMMON_KEYS, DRIVER_KEYS
from station.config.parse import (
    MQTT_KEYS,
    STATION_KEYS,
    ParsedConfig,
    load_config,
    parse_config_file,
    system_zone,
)
from station.config.table import ConfigError, show_toml

__all__ = [
    "BAUDRATES",
    "COMMON_KEYS",
    "DRIVER_KEYS",
    "MQTT_KEYS",
    "STATION_KEYS",
    "ConfigError",
    "ParsedConfig",
    "load_config",
    "parse_config_file",
    "show_toml",
    "system_zone",
]
