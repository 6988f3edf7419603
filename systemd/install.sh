#!/usr/bin/env bash
# Install or upgrade the inspection station on a Debian 12 device (docs/operations.md).
#
#   sudo systemd/install.sh                  # first install, from this checkout
#   sudo systemd/install.sh --upgrade        # new software, same config and store
#   systemd/install.sh --root /tmp/img       # into a folder (an image being built, a test)
#
# What goes where (paths on the target):
#   /opt/station/venv                      the Python venv with the `station` package
#   /opt/station/share/{docs,config,udev}  documentation and pristine examples (always replaced)
#   /etc/station/station.toml, master/     the config: installed once, NEVER overwritten
#   /var/lib/station                       the store (station.data_dir); never touched here,
#                                          except for the pre-upgrade backup copy
#   /usr/local/lib/systemd/system/         station-sync.service, station-bench@.service
#   /usr/local/lib/sysusers.d/station.conf the `station` user and group
#   /usr/local/lib/tmpfiles.d/station.conf owners and modes of /etc/station, /var/lib/station
#   /etc/udev/rules.d/99-station.rules     device names (installed once, then it is the site's)
#
# Idempotent: running it again changes nothing that is already in place. A plain run on an
# installed system leaves the software alone (that is --upgrade's job) and only puts back
# missing files, units and settings.
#
# --root DIR installs below DIR and touches nothing of the running system: no user creation,
# no chown, no systemctl, no udevadm. What it skips is printed as "skipped (--root): …"; the
# sysusers.d and tmpfiles.d files it installs create the user and fix the owners when the
# target boots. The venv is created in place, so its scripts name DIR/opt/station/venv: a
# --root install is for testing, or for an image built inside a chroot at that very path.
set -euo pipefail

PREFIX=/opt/station
VENV=$PREFIX/venv
ETC=/etc/station
DATA_DIR=/var/lib/station
UNIT_DIR=/usr/local/lib/systemd/system
SYSUSERS_DIR=/usr/local/lib/sysusers.d
TMPFILES_DIR=/usr/local/lib/tmpfiles.d
UDEV_DIR=/etc/udev/rules.d
UNITS="station-sync.service station-bench@.service"

usage() {
    cat <<'EOF'
Usage: install.sh [OPTIONS]

Install the inspection station (venv, config, units, udev rules) or upgrade it.

Options:
  --root DIR             install below DIR; do not touch the running system
  --source DIR           the station checkout to build from (default: the one holding
                         this script); its config/, docs/ and systemd/ are installed too
  --wheel FILE           install this built wheel instead of building one from --source
  --upgrade              replace the software of an existing installation; keeps the
                         config and the store, backs the store up, migrates it, restarts
                         the units that were running
  --python PY            the interpreter for a new venv (default: python3; 3.11 or newer)
  --wheelhouse DIR       install offline: take every wheel (dependencies, and setuptools
                         for a source build) from DIR, never from an index
  --reuse-deps-from VENV development and CI only: make VENV's packages visible to the new
                         venv (a .pth file) and install the station package alone
                         (--no-deps, no build isolation); no download at all
  --bench-tty TTY        the console for the bench UI (default: tty1); "none" installs
                         the units but enables no bench
  -h, --help             show this help and exit

Example:
  sudo systemd/install.sh && sudoedit /etc/station/station.toml
EOF
}

die() {
    echo "install.sh: error: $*" >&2
    exit 1
}
say() { echo "install.sh: $*"; }
skip() { echo "install.sh: skipped (--root): $*"; }

ROOT=""
SOURCE=""
WHEEL=""
UPGRADE=0
PYTHON=python3
WHEELHOUSE=""
REUSE=""
BENCH_TTY=tty1

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
        --root=*) ROOT=${1#*=}; shift ;;
        --source) SOURCE=${2:?--source needs a folder}; shift 2 ;;
        --source=*) SOURCE=${1#*=}; shift ;;
        --wheel) WHEEL=${2:?--wheel needs a file}; shift 2 ;;
        --wheel=*) WHEEL=${1#*=}; shift ;;
        --upgrade) UPGRADE=1; shift ;;
        --python) PYTHON=${2:?--python needs an interpreter}; shift 2 ;;
        --python=*) PYTHON=${1#*=}; shift ;;
        --wheelhouse) WHEELHOUSE=${2:?--wheelhouse needs a folder}; shift 2 ;;
        --wheelhouse=*) WHEELHOUSE=${1#*=}; shift ;;
        --reuse-deps-from) REUSE=${2:?--reuse-deps-from needs a venv}; shift 2 ;;
        --reuse-deps-from=*) REUSE=${1#*=}; shift ;;
        --bench-tty) BENCH_TTY=${2:?--bench-tty needs a tty name}; shift 2 ;;
        --bench-tty=*) BENCH_TTY=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

# --- arguments --------------------------------------------------------------------------------
if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=""
fi
LIVE=1
[ -z "$ROOT" ] || LIVE=0
if [ "$LIVE" = 1 ] && [ "$(id -u)" -ne 0 ]; then
    die "installing into the running system needs root (sudo), or use --root DIR"
fi

[ -n "$SOURCE" ] || SOURCE=$(dirname "$0")/..
[ -d "$SOURCE" ] || die "--source: no such folder: $SOURCE"
SOURCE=$(cd "$SOURCE" && pwd)
for f in pyproject.toml config/station.toml systemd/station-sync.service; do
    [ -f "$SOURCE/$f" ] || die "--source $SOURCE is not a station checkout (no $f)"
done
if [ -n "$WHEEL" ]; then
    [ -f "$WHEEL" ] || die "--wheel: no such file: $WHEEL"
    case "$WHEEL" in *.whl) ;; *) die "--wheel: not a wheel (expected *.whl, got $WHEEL)" ;; esac
    WHEEL=$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")
fi
if [ -n "$WHEELHOUSE" ]; then
    [ -d "$WHEELHOUSE" ] || die "--wheelhouse: no such folder: $WHEELHOUSE"
    WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
fi
if [ -n "$REUSE" ]; then
    [ -x "$REUSE/bin/python" ] || die "--reuse-deps-from: not a venv (no bin/python): $REUSE"
    [ -z "$WHEELHOUSE" ] || die "--reuse-deps-from and --wheelhouse exclude each other"
fi
case "$BENCH_TTY" in
    none | tty[0-9] | tty[0-9][0-9]) ;;
    *) die "--bench-tty: expected a console like tty1 or none (got $BENCH_TTY)" ;;
esac

R() { printf '%s%s' "$ROOT" "$1"; } # a target path, below --root
PY=$(R "$VENV")/bin/python
INSTALLED=0
[ -x "$(R "$VENV")/bin/station" ] && INSTALLED=1
if [ "$UPGRADE" = 1 ] && [ "$INSTALLED" = 0 ]; then
    die "--upgrade: nothing to upgrade (no $(R "$VENV")/bin/station); run without --upgrade"
fi

WORK=$(mktemp -d)
UPGRADE_CONFIG=""
WAS_ACTIVE=""
RESTART_ON_FAILURE=0
cleanup() {
    rc=$?
    rm -rf "$WORK"
    [ -z "$UPGRADE_CONFIG" ] || rm -f "$UPGRADE_CONFIG"
    # A field device must not stay down because an upgrade failed before it touched the store
    # (no network, a bad wheel): pip rolls a failed install back, so the old software runs.
    if [ "$rc" -ne 0 ] && [ "$RESTART_ON_FAILURE" = 1 ] && [ -n "$WAS_ACTIVE" ]; then
        echo "install.sh: the upgrade failed; starting the previous software again:$WAS_ACTIVE" >&2
        # shellcheck disable=SC2086 # a list of unit names
        systemctl start $WAS_ACTIVE || true
    fi
    exit "$rc"
}
trap cleanup EXIT
umask 0022

# Runs a command as the station user (live) or as the caller (--root: there is no such user
# here). umask 0007 as in the units: files the store creates stay group-writable.
as_station() {
    if [ "$LIVE" = 1 ]; then
        (umask 0007 && runuser -u station -g station -- "$@")
    else
        (umask 0007 && "$@")
    fi
}

# --- 1. user, group, ownership rules -----------------------------------------------------------
install -d -m 0755 "$(R "$SYSUSERS_DIR")" "$(R "$TMPFILES_DIR")"
install -m 0644 "$SOURCE/systemd/station.sysusers" "$(R "$SYSUSERS_DIR")/station.conf"
install -m 0644 "$SOURCE/systemd/station.tmpfiles" "$(R "$TMPFILES_DIR")/station.conf"
if [ "$LIVE" = 1 ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers "$SYSUSERS_DIR/station.conf"
    elif ! getent passwd station >/dev/null; then
        groupadd --system station 2>/dev/null || true
        useradd --system --gid station --home-dir "$DATA_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "Inspection station" station
    fi
else
    skip "systemd-sysusers $SYSUSERS_DIR/station.conf (user and group 'station'; done by" \
        "systemd-sysusers.service at the target's boot)"
fi

# --- 2. the venv and the package ---------------------------------------------------------------
PIP_QUIET="--disable-pip-version-check --no-input -q"
# pip of the venv itself; in --reuse-deps-from mode the reused venv's pip and build backend
# (the new venv gets no pip of its own: it would bring an older setuptools to the front).
PIP="$PY -m pip"
BUILD_PIP="$PY -m pip"
if [ -n "$REUSE" ]; then
    PIP="$REUSE/bin/python -m pip --python $PY"
    BUILD_PIP="$REUSE/bin/python -m pip"
fi
pip_src_opts() { # where pip may take packages from
    if [ -n "$WHEELHOUSE" ]; then
        echo "--no-index --find-links $WHEELHOUSE"
    elif [ -n "$REUSE" ]; then
        echo "--no-index --no-build-isolation"
    fi
}

if [ "$INSTALLED" = 0 ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "--python: not found: $PYTHON"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "--python $PYTHON is older than Python 3.11"
    say "creating the venv $(R "$VENV")"
    install -d -m 0755 "$(R "$PREFIX")"
    if [ -n "$REUSE" ]; then
        "$PYTHON" -m venv --without-pip "$(R "$VENV")"
    else
        "$PYTHON" -m venv "$(R "$VENV")"
    fi
    if [ -n "$REUSE" ]; then
        site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        "$REUSE/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
            >"$site/_station_reused_deps.pth"
        say "reusing the packages of $REUSE (development mode, see --help)"
    fi
fi

# Upgrade: stop what runs only now, with the wheel built (a download or build failure above
# leaves the station running).
stop_units() {
    if [ "$LIVE" = 1 ]; then
        for u in $(systemctl list-units --state=active --plain --no-legend \
            'station-sync.service' 'station-bench@*.service' | awk '{print $1}'); do
            WAS_ACTIVE="$WAS_ACTIVE $u"
        done
        if [ -n "$WAS_ACTIVE" ]; then
            say "stopping$WAS_ACTIVE"
            RESTART_ON_FAILURE=1
            # shellcheck disable=SC2086 # a list of unit names
            systemctl stop $WAS_ACTIVE
        fi
    else
        skip "systemctl stop station-sync.service 'station-bench@*.service'"
    fi
}

if [ "$INSTALLED" = 0 ] || [ "$UPGRADE" = 1 ]; then
    if [ -z "$WHEEL" ]; then
        # Build from a clean copy: an in-tree build would write build/ and *.egg-info into the
        # checkout, and a developer's .venv or caches have no place in a wheel.
        say "building the wheel from $SOURCE"
        mkdir -p "$WORK/src" "$WORK/dist"
        tar -C "$SOURCE" -cf - --exclude=./.git --exclude=./.venv --exclude=./build \
            --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ \
            --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.pytest_cache \
            --exclude=.hypothesis . | tar -C "$WORK/src" -xf -
        # shellcheck disable=SC2046,SC2086 # option lists
        $BUILD_PIP wheel $PIP_QUIET --no-deps $(pip_src_opts) -w "$WORK/dist" "$WORK/src" \
            >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; die "building the wheel failed"; }
        WHEEL=$(ls "$WORK"/dist/station-*.whl)
    fi
    [ "$UPGRADE" = 0 ] || stop_units
    say "installing $(basename "$WHEEL") into $(R "$VENV")"
    if [ -z "$REUSE" ]; then
        # Dependencies first (pinned in the wheel's metadata), then the package itself again:
        # a rebuilt wheel of the same version would otherwise count as "already satisfied".
        # shellcheck disable=SC2046,SC2086
        $PIP install $PIP_QUIET $(pip_src_opts) "$WHEEL"
    fi
    # shellcheck disable=SC2046,SC2086
    $PIP install $PIP_QUIET $(pip_src_opts) --no-deps --force-reinstall "$WHEEL"
else
    say "software already installed: $("$(R "$VENV")/bin/station" --version)" \
        "(left as it is; --upgrade replaces it)"
fi
"$(R "$VENV")/bin/station" --version >/dev/null || die "the installed station does not start"

# --- 3. documentation and pristine examples ------------------------------------------------------
SHARE=$(R "$PREFIX")/share
rm -rf "$SHARE"
install -d -m 0755 "$SHARE/docs" "$SHARE/config" "$SHARE/udev" "$SHARE/systemd"
if [ -d "$SOURCE/docs" ]; then
    find "$SOURCE/docs" -maxdepth 1 -name '*.md' -exec install -m 0644 {} "$SHARE/docs/" \;
fi
cp -R "$SOURCE/config/." "$SHARE/config/"
install -m 0644 "$SOURCE/systemd/99-station.rules" "$SHARE/udev/"
install -m 0644 "$SOURCE/systemd/install.sh" "$SOURCE/systemd/station-sync.service" \
    "$SOURCE/systemd/station-bench@.service" "$SHARE/systemd/"

# --- 4. the config: once, never overwritten ----------------------------------------------------
# The example's data_dir is relative (a checkout); on a device the store lives where the units'
# StateDirectory= puts it.
set_data_dir() { # FILE
    grep -qE '^data_dir[[:space:]]*=' "$1" || die "$1: no data_dir line to set to $DATA_DIR"
    sed -i -E "s|^data_dir[[:space:]]*=[[:space:]]*\"[^\"]*\"|data_dir = \"$DATA_DIR\"|" "$1"
    grep -qE "^data_dir = \"$DATA_DIR\"" "$1" || die "$1: could not set data_dir to $DATA_DIR"
}
set_data_dir "$SHARE/config/station.toml"
install -d -m 0750 "$(R "$ETC")"
if [ -e "$(R "$ETC")/station.toml" ]; then
    say "kept the existing config $(R "$ETC")/station.toml" \
        "(the example is in $PREFIX/share/config/station.toml)"
else
    install -m 0640 "$SHARE/config/station.toml" "$(R "$ETC")/station.toml"
    say "installed the example config $(R "$ETC")/station.toml: edit it for this bench"
fi
if [ -e "$(R "$ETC")/master" ]; then
    say "kept the existing master data $(R "$ETC")/master"
else
    install -d -m 0750 "$(R "$ETC")/master"
    find "$SOURCE/config/master" -maxdepth 1 -name '*.json' \
        -exec install -m 0640 {} "$(R "$ETC")/master/" \;
    say "installed the example master data $(R "$ETC")/master"
fi
install -d -m 0770 "$(R "$DATA_DIR")"
if [ "$LIVE" = 1 ]; then
    systemd-tmpfiles --create "$TMPFILES_DIR/station.conf"
else
    skip "systemd-tmpfiles --create $TMPFILES_DIR/station.conf (owners root:station on" \
        "$ETC, station:station on $DATA_DIR; done by systemd-tmpfiles-setup.service at boot)"
fi

# --- 5. units and udev rules --------------------------------------------------------------------
install -d -m 0755 "$(R "$UNIT_DIR")" "$(R "$UDEV_DIR")"
for u in $UNITS; do
    install -m 0644 "$SOURCE/systemd/$u" "$(R "$UNIT_DIR")/$u"
done
if [ -e "$(R "$UDEV_DIR")/99-station.rules" ]; then
    say "kept the existing udev rules $(R "$UDEV_DIR")/99-station.rules"
else
    install -m 0644 "$SOURCE/systemd/99-station.rules" "$(R "$UDEV_DIR")/99-station.rules"
fi

ENABLE="station-sync.service"
[ "$BENCH_TTY" = none ] || ENABLE="$ENABLE station-bench@$BENCH_TTY.service"
if [ "$LIVE" = 1 ]; then
    systemctl daemon-reload
    if command -v udevadm >/dev/null 2>&1; then
        udevadm control --reload
        udevadm trigger --subsystem-match=tty --subsystem-match=input
    fi
    # shellcheck disable=SC2086
    systemctl enable --quiet $ENABLE
    if [ "$BENCH_TTY" != none ]; then
        # Both want the console; the bench's Conflicts= would stop the getty at runtime, but
        # both in one boot transaction is a race. Log in on another tty or over ssh.
        systemctl disable --quiet "getty@$BENCH_TTY.service" 2>/dev/null || true
    fi
else
    skip "systemctl daemon-reload; udevadm control --reload; systemctl enable $ENABLE"
    [ "$BENCH_TTY" = none ] || skip "systemctl disable getty@$BENCH_TTY.service"
fi

# --- 6. upgrade: back the store up, migrate it, check it, restart --------------------------------
if [ "$UPGRADE" = 1 ]; then
    CONFIG=$(R "$ETC")/station.toml
    if [ "$LIVE" = 0 ]; then
        # The config names target paths (/var/lib/station). Run against the store below --root
        # through a copy, next to the original so that its relative paths still resolve.
        CONFIG=$(R "$ETC")/.station-upgrade.toml
        UPGRADE_CONFIG=$CONFIG
        cp "$(R "$ETC")/station.toml" "$CONFIG"
        DATA_DIR=$(R "$DATA_DIR") set_data_dir "$CONFIG"
    fi
    # From here on a failure leaves the units stopped: the store may be half-migrated, and the
    # technician decides (docs/operations.md, "Upgrade").
    RESTART_ON_FAILURE=0
    # Where the store is, as the new software reads the config (-I: never the current folder's
    # modules).
    db=$("$PY" -I -c 'import sys
from pathlib import Path
from station.config import ConfigError, load_config
try:
    print(load_config(Path(sys.argv[1])).station.db_path)
except ConfigError as exc:
    sys.exit("\n".join(exc.problems))' "$CONFIG") || die "cannot read station.data_dir from $CONFIG"
    if [ -f "$db" ]; then
        # A consistent copy through SQLite's online backup (the units are stopped), taken
        # before the new software opens the store. Only the latest is kept: the store can be
        # large, the SD card is not.
        backup=$(dirname "$db")/backup/station-before-upgrade.db
        as_station mkdir -p "$(dirname "$backup")"
        rm -f "$backup"
        as_station "$PY" -I - "$db" "$backup" <<'EOF' ||
import sqlite3
import sys

try:
    src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    dst = sqlite3.connect(sys.argv[2])
    with dst:
        src.backup(dst)
    dst.close()
    src.close()
except sqlite3.Error as exc:
    sys.exit(f"{sys.argv[1]}: {exc}")
EOF
            die "could not back the store up before migrating it; the store is as the old" \
                "software left it, and the new software is installed"
        say "store backed up to $backup"
    fi
    # The store migrates its schema when it is opened: `status` opens it, `verify` then
    # checks that every record survived (exit 1 names the first bad seq).
    say "migrating the store: station status"
    as_station "$(R "$VENV")/bin/station" status -c "$CONFIG" ||
        die "the store did not open after the upgrade; the copy from before is in $(dirname "$db")/backup/"
    as_station "$(R "$VENV")/bin/station" verify -c "$CONFIG" ||
        die "the record chain does not verify after the upgrade; the copy from before is in $(dirname "$db")/backup/"
    if [ "$LIVE" = 1 ] && [ -n "$WAS_ACTIVE" ]; then
        say "starting$WAS_ACTIVE"
        # shellcheck disable=SC2086
        systemctl start $WAS_ACTIVE
    elif [ "$LIVE" = 0 ]; then
        skip "systemctl start (the units that were running)"
    fi
    say "upgraded to $("$(R "$VENV")/bin/station" --version)"
else
    say "done. Next: edit $ETC/station.toml, run '$VENV/bin/station check-config $ETC/station.toml'," \
        "then 'systemctl start station-sync.service' (docs/operations.md)"
fi
