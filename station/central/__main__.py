"""`python -m station.central -c FILE`: the same as `station central -c FILE`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from station.central.run import run_central


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="station central", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, default=os.environ.get("STATION_CONFIG"))
    args = parser.parse_args(argv)
    if args.config is None:
        parser.error("-c FILE (or STATION_CONFIG) is required")
    return run_central(args.config)


if __name__ == "__main__":
    sys.exit(main())
