"""station: the software of a shop-floor inspection and calibration station.

The QMS defines (specs, plan revisions, calibration status, qualifications); the station
assures at the bench that inspections are done right, and keeps an append-only,
hash-chained record of every one, synced to the QMS over MQTT.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
