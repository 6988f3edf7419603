"""The `station` command line (contract: `docs/contract/station.md`).

A thin click group: each command parses its options, loads the config once and hands the
typed objects to the service that does the work. Implementations are imported lazily so that
`station --help` stays fast on a Raspberry Pi and a broken optional part cannot break the rest.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from station import __version__

if TYPE_CHECKING:
    from station.settings import Config
    from station.store import Store

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


def fail(command: str, message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr (`station COMMAND: what, where, why`) and exit `code`."""
    click.echo(f"station {command}: {message}", err=True)
    sys.exit(code)


def os_reason(exc: OSError) -> str:
    """`Permission denied (EACCES)`: the text a person reads and the name a search finds."""
    name = errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno is not None else ""
    return f"{exc.strerror or exc} ({name})" if name else str(exc.strerror or exc)


def require_writable_data_dir(command: str, cfg: Config, config_path: Path) -> None:
    """Exit 1 with one line unless the bench or the daemon can create and write its store.

    Both write the store (and the bench its log) in `data_dir`; finding out from a traceback
    deep in SQLite or logging set-up told the technician nothing. As root `os.access`
    always says yes, so this really creates a file (then removes it).
    """
    folder, db = cfg.station.data_dir, cfg.station.db_path
    where = f"(station.data_dir in {config_path})"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(command, f"cannot create the data folder {folder} {where}: {os_reason(exc)}")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".station-write-test-"):
            pass
    except OSError as exc:
        fail(command, f"cannot write in the data folder {folder} {where}: {os_reason(exc)}")
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            try:
                os.close(os.open(path, os.O_RDWR))
            except OSError as exc:
                fail(command, f"cannot write the record store {path} {where}: {os_reason(exc)}")


def open_existing_store(command: str, cfg: Config, config_path: Path) -> Store:
    """The configured store opened read-only, or exit 1 naming the path and the problem.

    `verify` and `status` never create a store: a typo in `data_dir` would otherwise show
    as a healthy empty one (pending 0, verify ok).
    """
    from station.store import Store, StoreError, StoreMissing

    try:
        return Store.for_config(cfg, readonly=True)
    except StoreMissing:
        fail(
            command,
            f"no record store at {cfg.station.db_path} (station.data_dir in {config_path}); "
            "only `station bench` and `station sync` create one",
        )
    except StoreError as exc:
        fail(command, str(exc))


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
    exits 0 when valid (printing `FILE: ok`), 2 when not. Both go to stdout, where a script
    reads them; stderr is for the command failing to run at all.

    \b
    Example:
        station check-config config/station.toml
    """
    from station.config_check import check_config_file

    problems = check_config_file(file)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(2)
    click.echo(f"{file}: ok")


@main.command("verify")
@config_option
def verify(config_path: Path) -> None:
    """Check the local record store: seq has no gaps, every prev and hash matches, SQLite's
    integrity_check passes, and no record committed earlier is missing from the end.

    Exits 0 when intact, 1 when broken: the first bad seq on stderr (`seq N: what`), then
    any damage SQLite found and lost records, one line each. Opens the store read-only
    (nothing written, works on a read-only copy); a missing store is an error (exit 1).

    \b
    Example:
        station verify -c /etc/station/station.toml
    """
    from station.store import StoreError

    cfg = load(config_path)
    with open_existing_store("verify", cfg, config_path) as store:
        try:
            result = store.verify()
        except StoreError as exc:
            fail("verify", str(exc))
    if not result.ok:
        if result.first_bad_seq is not None:
            click.echo(f"seq {result.first_bad_seq}: {result.reason}", err=True)
        elif result.reason:
            click.echo(f"{cfg.station.db_path}: {result.reason}", err=True)
        for line in result.problems:
            click.echo(f"{cfg.station.db_path}: {line}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"ok": True, "records": result.checked, "last_seq": result.last_seq}))


@main.command("status")
@config_option
def status(config_path: Path) -> None:
    """Print one JSON object: last_seq, pending, delivered_seq, oldest_pending_ts, db_bytes,
    then health ("ok", "records-lost", "corrupt"), problems and clock.

    Exits 0 when the store is healthy (a `clock` warning included), 1 when it is missing,
    cannot be read (one line on stderr, nothing on stdout) or is not healthy (the JSON, and
    each problem on stderr). Runs SQLite's quick_check, not the full chain: `station verify`.

    \b
    Example:
        station status -c /etc/station/station.toml
    """
    from station.store import StoreError

    cfg = load(config_path)
    with open_existing_store("status", cfg, config_path) as store:
        try:
            st = store.checked_status(store.status())
        except StoreError as exc:
            fail("status", f"the record store cannot be read: {exc}")
    click.echo(json.dumps(st.as_dict()))
    if st.health != "ok":
        for line in st.problems:
            click.echo(f"station status: {cfg.station.db_path}: {line}", err=True)
        sys.exit(1)


def _site_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"must be a date YYYY-MM-DD (got {value!r})"
        raise click.BadParameter(msg, param_hint=option) from None


@main.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["dfq", "csv"]))
@config_option
@click.option("--since", help="First day to export (YYYY-MM-DD, the site's calendar).")
@click.option("--until", help="Last day to export (YYYY-MM-DD, inclusive).")
@click.option("--plan", "plan_id", help="Only this plan id (every revision).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="A folder (DFQ: one file per plan revision; CSV: inspections.csv) or a file.",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.option(
    "--encoding",
    type=click.Choice(["default", "utf-8"]),
    default="default",
    show_default=True,
    help="DFQ only: the encoding Q-DAS reads by default, or UTF-8.",
)
def export(
    *,
    fmt: str,
    config_path: Path,
    since: str | None,
    until: str | None,
    plan_id: str | None,
    out: Path,
    force: bool,
    encoding: str,
) -> None:
    """Write the stored inspections as DFQ (AQDEF, for qs-STAT) or CSV, offline from the store.

    Dates are calendar days of the site (`[station] timezone`), judged on each inspection's
    completion. Nothing is overwritten without --force. Exits 0 when written, 2 for bad
    arguments, 1 when the store cannot be read.

    \b
    Examples:
        station export csv -c /etc/station/station.toml --since 2026-11-01 --out /media/usb
        station export dfq -c /etc/station/station.toml --plan P-1001 --out /srv/qdas/pool
    """
    from station.export import ExportError, ExportFilter, inspections, plan_lookup, write_csv
    from station.store import StoreError

    first, last = _site_date(since, "--since"), _site_date(until, "--until")
    if first is not None and last is not None and first > last:
        raise click.BadParameter(f"{since} is after --until {until}", param_hint="--since")
    cfg = load(config_path)
    flt = ExportFilter(cfg.station.timezone, first, last, plan_id)
    with open_existing_store("export", cfg, config_path) as store:
        try:
            records = inspections(store, flt)
            if fmt == "csv":
                target, rows = write_csv(records, out, zone=flt.zone, overwrite=force)
                click.echo(f"{target}: {rows} measurements")
            else:
                from station.export.dfq import DEFAULT_ENCODING, write_dfq

                enc = DEFAULT_ENCODING if encoding == "default" else "utf-8"
                paths = write_dfq(
                    records, plan_lookup(store), out, zone=flt.zone, encoding=enc, overwrite=force
                )
                for path in paths:
                    click.echo(str(path))
                if not paths:
                    click.echo("no inspections matched: nothing written", err=True)
        except ExportError as exc:
            fail("export", str(exc), 2)
        except StoreError as exc:
            fail("export", f"the record store cannot be read: {exc}")
        except OSError as exc:
            fail("export", f"{out}: {os_reason(exc)}")


@main.command("pin-hash")
@click.option(
    "--ln",
    default=15,
    show_default=True,
    type=click.IntRange(1, 17),
    help="scrypt cost: n = 2**LN (the verifier carries it; the QMS may raise it).",
)
def pin_hash(ln: int) -> None:
    """Print the scrypt verifier of a signing PIN, for the operator master data (`pin`).

    On a terminal the PIN is asked twice without echo; otherwise one line is read from stdin.
    The PIN itself is never printed or stored. Exits 0 with the verifier on stdout, 2 when
    the PIN is refused (too short, too common) or the two entries differ.

    \b
    Example:
        station pin-hash
        printf '%s\\n' "$PIN" | station pin-hash
    """
    from station.pinhash import pin_hash_main

    sys.exit(pin_hash_main(sys.stdin, sys.stdout, sys.stderr, ln=ln))


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


@main.command("central")
@config_option
def central(config_path: Path) -> None:
    """Run the plant-side QMS bridge (MQTT -> PostgreSQL) until SIGTERM.

    Several may run at once on one MQTT 5 shared subscription (`[central] group`). Needs the
    `central` extra (psycopg): pip install 'station[central]'. Exits 0 on SIGTERM, 2 when the
    config is invalid (every problem listed).

    \b
    Example:
        station central -c /etc/station-central/central.toml
    """
    try:
        from station.central import run_central
    except ModuleNotFoundError as exc:
        if exc.name != "psycopg":
            raise
        click.echo(
            "station central: psycopg (PostgreSQL) is not installed; install the central "
            "extra: pip install 'station[central]'",
            err=True,
        )
        sys.exit(1)
    sys.exit(run_central(config_path))


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
    require_writable_data_dir("sync", cfg, config_path)
    sys.exit(run_sync(cfg))


@main.command("bench")
@config_option
def bench(config_path: Path) -> None:
    """Run the bench terminal UI, owning the configured inputs.

    \b
    Example:
        station bench -c /etc/station/station.toml
    """
    from station.ui.launch import run_bench

    cfg = load(config_path)
    require_writable_data_dir("bench", cfg, config_path)
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
