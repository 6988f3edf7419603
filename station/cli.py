"""The `station` command line (contract: `shared/contract/station.md`).

A thin click group: each command parses its options, loads the config once and hands the
typed objects to the service that does the work. Implementations are imported lazily so that
`station --help` stays fast on a Raspberry Pi and a broken optional part cannot break the rest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from station import __version__

if TYPE_CHECKING:
    from station.settings import Config

CONFIG_HELP = "Station config file (TOML). Defaults to $STATION_CONFIG."


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    envvar="STATION_CONFIG",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=CONFIG_HELP,
)


def load(config_path: Path) -> Config:
    """Load the config or exit 2 with every problem on stderr, one per line."""
    from station.config import ConfigError, load_config

    try:
        return load_config(config_path)
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="station")
def main() -> None:
    """Inspection and calibration station: bench UI, instrument drivers, local record store
    and MQTT sync to the central QMS.

    \b
    Example:
        station check-config /etc/station/station.toml
        station demo
    """


@main.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check_config(file: Path) -> None:
    """Validate FILE and every master-data file it names.

    Prints every problem, one per line, as `FILE: key.path: what is wrong (got VALUE)`;
    exits 0 when valid, 2 when not.

    \b
    Example:
        station check-config config/station.toml
    """
    from station.config import check_config_file

    problems = check_config_file(file)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(2)
    click.echo(f"{file}: ok", err=True)


@main.command("verify")
@config_option
def verify(config_path: Path) -> None:
    """Check the local record chain: seq has no gaps, every prev and hash matches.

    Exits 0 when intact, 1 when broken (the first bad seq on stderr).

    \b
    Example:
        station verify -c /etc/station/station.toml
    """
    from station.store import Store

    cfg = load(config_path)
    if not cfg.station.db_path.exists():
        # Opening would create an empty store and call it intact: say what is wrong instead.
        click.echo(
            f"no record store at {cfg.station.db_path} (station.data_dir in {config_path}): "
            "nothing to verify",
            err=True,
        )
        sys.exit(1)
    with Store.for_config(cfg) as store:
        result = store.verify()
    if not result.ok:
        click.echo(f"seq {result.first_bad_seq}: {result.reason}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"ok": True, "records": result.checked, "last_seq": result.last_seq}))


@main.command("status")
@config_option
def status(config_path: Path) -> None:
    """Print one JSON object: last_seq, pending, delivered_seq, oldest_pending_ts, db_bytes.

    \b
    Example:
        station status -c /etc/station/station.toml
    """
    from station.store import Store

    cfg = load(config_path)
    with Store.for_config(cfg) as store:
        click.echo(json.dumps(store.status().as_dict()))


@main.command("read")
@click.argument("input_name", metavar="INPUT")
@config_option
@click.option(
    "--count", default=1, show_default=True, type=click.IntRange(min=1), help="Values to read."
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Seconds to wait for each value.",
)
def read(input_name: str, config_path: Path, count: int, timeout: float) -> None:
    """Read COUNT values from one configured INPUT and print one JSON object per line:
    {"input","value","unit","raw","ts"}.

    A poll-mode device is sent its request; for a push-mode device the command waits for the
    next value (press the gauge's data button). Exits 1 on timeout or a device error, 2 for
    an unknown INPUT or an invalid config.

    \b
    Example:
        station read left -c /etc/station/station.toml --count 3 --timeout 20
    """
    from station.reading import run_read

    cfg = load(config_path)
    sys.exit(run_read(cfg, input_name, count=count, timeout=timeout))


@main.command("sync")
@config_option
def sync(config_path: Path) -> None:
    """Run the headless sync daemon (records up, master data down) until SIGTERM.

    \b
    Example:
        station sync -c /etc/station/station.toml
    """
    from station.sync import run_sync

    cfg = load(config_path)
    sys.exit(run_sync(cfg))


@main.command("bench")
@config_option
def bench(config_path: Path) -> None:
    """Run the bench terminal UI, owning the configured inputs.

    \b
    Example:
        station bench -c /etc/station/station.toml
    """
    from station.ui.app import run_bench

    cfg = load(config_path)
    sys.exit(run_bench(cfg))


@main.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's store and logs here (default: a temporary folder).",
)
@click.option(
    "--broker",
    type=click.Choice(["auto", "mosquitto", "embedded"]),
    default="auto",
    show_default=True,
    help="MQTT broker to start: mosquitto when installed (auto), or the embedded one.",
)
def demo(workdir: Path | None, broker: str) -> None:
    """Run the whole station with simulated instruments, a simulated scanner, an MQTT broker
    and a simulated central QMS. Needs no other service, config or hardware.

    \b
    Example:
        station demo
    """
    from station.demo import run_demo

    sys.exit(run_demo(workdir, broker))


if __name__ == "__main__":  # pragma: no cover
    main()
