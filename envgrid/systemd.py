"""``envgrid install-systemd``: write the systemd unit and its environment file.

It writes two files under ``--root`` (default ``/``) and creates nothing else — no
user, no directory outside those two, no ``systemctl`` call; it prints the commands
that remain.  ``deploy/systemd/`` holds the same two files rendered with the defaults
(a test keeps them equal), for operators who install by hand.

Why the unit looks as it does: ``envgrid serve`` stays in the foreground, does not fork
and tells systemd when it is ready (``READY=1`` once the HJ 212 port accepts, after
migrations), so ``Type=notify``; while running it pings the watchdog only while the
checks of ``/readyz`` pass (:mod:`envgrid.watchdog`), so ``WatchdogSec=`` restarts a
hung service.  The supervisor stops its
children itself on SIGTERM (a worker stops accepting, flushes, acks and closes; the
embedded cluster stops last), hence ``KillMode=mixed``: SIGTERM to the supervisor only,
SIGKILL to what is left after ``TimeoutStopSec``, longer than the supervisor's own 30 s.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Final

__all__ = ["WATCHDOG_SEC", "configure", "env_text", "nofile_for", "run", "unit_text"]

DEFAULT_EXEC: Final = "/opt/envgrid/venv/bin/envgrid"
DEFAULT_USER: Final = "envgrid"
DEFAULT_DATA_DIR: Final = Path("/var/lib/envgrid")
DEFAULT_NOFILE: Final = 65536
#: The watchdog period: the supervisor checks and pings every half of it.
WATCHDOG_SEC: Final = 30
#: Descriptors a worker needs besides its stations (pool, spool, logs, metrics), kept
#: free by ``ingest.max_connections_per_worker = 0`` ("the limit minus 500"), rounded up.
RESERVED_FILES: Final = 1024
UNIT_PATH: Final = Path("etc/systemd/system/envgrid.service")
ENV_PATH: Final = Path("etc/envgrid/envgrid.env")


def nofile_for(stations: int, workers: int) -> int:
    """LimitNOFILE for ``stations`` spread over ``workers`` ingest processes: each holds
    one socket per station it serves; SO_REUSEPORT spreads them unevenly, so 25 % more,
    plus the reserve; never below :data:`DEFAULT_NOFILE`."""
    per_worker = math.ceil(stations * 1.25 / max(workers, 1))
    return max(DEFAULT_NOFILE, per_worker + RESERVED_FILES)


def unit_text(
    *,
    exec_start: str = DEFAULT_EXEC,
    user: str = DEFAULT_USER,
    data_dir: Path = DEFAULT_DATA_DIR,
    nofile: int = DEFAULT_NOFILE,
) -> str:
    state = data_dir.name if data_dir.parent == Path("/var/lib") else None
    state_line = (
        f"# Creates {data_dir} owned by {user} (mode 0750) before the first start.\n"
        f"StateDirectory={state}\nStateDirectoryMode=0750\n"
        if state
        else f"# {data_dir} must exist and belong to {user}.\n"
    )
    return f"""\
# envgrid.service — HJ 212 server, web dashboard and alert engine (`envgrid serve`).
# Written by `envgrid install-systemd`; see docs/operations.md.  Local changes belong in
# a drop-in: `systemctl edit envgrid` (e.g. a larger LimitNOFILE).

[Unit]
Description=envgrid HJ 212 telemetry server (ingest, web dashboard, alerts)
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
# `envgrid serve` runs in the foreground, does not fork, applies pending migrations
# (database.migrate_on_start), and sends READY=1 once the HJ 212 port accepts.
Type=notify
# It sends WATCHDOG=1 every {WATCHDOG_SEC // 2} s while the HJ 212 port accepts (or its workers
# are full) and the database answers; with an external database that is away it keeps
# pinging (the workers spool meanwhile).  No ping for {WATCHDOG_SEC} s: systemd restarts it.
WatchdogSec={WATCHDOG_SEC}s
User={user}
Group={user}
EnvironmentFile=/etc/envgrid/envgrid.env
WorkingDirectory={data_dir}
ExecStart={exec_start} serve
# SIGTERM to the supervisor alone: it stops the workers gracefully (stop accepting,
# flush, ack, close) within 30 s, then the embedded cluster; SIGKILL only after that.
KillMode=mixed
TimeoutStartSec=300
TimeoutStopSec=90
Restart=on-failure
RestartSec=5s

# Open files, per process.  Each ingest worker holds one socket per station it serves
# (SO_REUSEPORT spreads stations over ingest.workers processes, not evenly) and keeps
# 500 descriptors for the database, spool and logs (ingest.max_connections_per_worker
# = 0 means "this limit minus 500").  Size it as
#     stations × 1.25 / workers + 1024, and never below 65536,
# e.g. 100,000 stations on 2 workers → 63,524 → 65536; on 1 worker → 126,024.
# `envgrid install-systemd --stations N --workers W` writes that figure.
LimitNOFILE={nofile}

# Hardening.  The service writes only to its data directory (embedded cluster, spool,
# metrics, exports); /etc/envgrid is read-only to it.
NoNewPrivileges=yes
ProtectSystem=strict
{state_line}ReadWritePaths={data_dir}
PrivateTmp=yes
ProtectHome=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
# IPv4/IPv6 for stations, the dashboard and PostgreSQL; Unix sockets for the embedded
# cluster and the worker processes.
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
# The default ports (8212, 8080, 9212) need no privilege; for a port below 1024 add
# AmbientCapabilities=CAP_NET_BIND_SERVICE and that capability here.
CapabilityBoundingSet=
UMask=0027

[Install]
WantedBy=multi-user.target
"""


def env_text(*, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    return f"""\
# /etc/envgrid/envgrid.env — the environment of envgrid.service (EnvironmentFile=).
# Holds the database password: keep it root:envgrid, mode 0640.
# Every setting can be set here as ENVGRID_<SECTION>__<KEY>=value (list them with
# `envgrid config example`); an unknown ENVGRID_* name stops the service at start-up.
# No quotes needed; lines starting with # are ignored.

# The state directory (embedded cluster, spool, secret.key); must match the unit's
# ReadWritePaths=.
ENVGRID_DATA_DIR={data_dir}

# The database.  Unset: an embedded PostgreSQL cluster in $ENVGRID_DATA_DIR/pg (needs the
# postgresql package).  For a separate PostgreSQL/TimescaleDB server:
#ENVGRID_DSN=postgresql://envgrid:CHANGE-ME@db.example.internal:5432/envgrid

# A TOML file for the rest (`envgrid config example > /etc/envgrid/envgrid.toml`;
# check it with `envgrid config check /etc/envgrid/envgrid.toml`).  It must exist if set.
#ENVGRID_CONFIG=/etc/envgrid/envgrid.toml

# One JSON object per log line, for journald and log shippers.
ENVGRID_CORE__LOG_FORMAT=json

# Behind nginx/Caddy on this host: the dashboard listens on loopback only and trusts
# the proxy's X-Forwarded-For.
#ENVGRID_WEB__HOST=127.0.0.1
#ENVGRID_WEB__TRUSTED_PROXIES=127.0.0.1
"""


def _default_exec() -> str:
    script = Path(sys.executable).parent / "envgrid"
    return str(script) if script.is_file() else f"{sys.executable} -m envgrid"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, default=Path("/"), help="write under this directory (default /)"
    )
    parser.add_argument("--user", default=DEFAULT_USER, help="account the service runs as")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="state directory (core.data_dir)"
    )
    parser.add_argument(
        "--exec",
        dest="exec_start",
        help="the envgrid command (default: the one beside this Python)",
    )
    parser.add_argument("--stations", type=int, help="expected stations, to size LimitNOFILE")
    parser.add_argument(
        "--workers", type=int, default=1, help="ingest.workers, to size LimitNOFILE (default 1)"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing files (the env file too)"
    )


def run(args: argparse.Namespace) -> int:
    if not args.data_dir.is_absolute():
        print("envgrid install-systemd: --data-dir must be an absolute path", file=sys.stderr)
        return 2
    nofile = nofile_for(args.stations, args.workers) if args.stations else DEFAULT_NOFILE
    files = {
        args.root / UNIT_PATH: (
            unit_text(
                exec_start=args.exec_start or _default_exec(),
                user=args.user,
                data_dir=args.data_dir,
                nofile=nofile,
            ),
            0o644,
        ),
        args.root / ENV_PATH: (env_text(data_dir=args.data_dir), 0o640),
    }
    existing = [str(p) for p in files if p.exists()]
    if existing and not args.force:
        print(
            f"envgrid install-systemd: {', '.join(existing)} exists; --force overwrites",
            file=sys.stderr,
        )
        return 2
    for path, (text, mode) in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        print(f"wrote {path}")
    print(
        "next:\n"
        f"  useradd --system --home-dir {args.data_dir} --shell /usr/sbin/nologin {args.user}\n"
        f"  chgrp {args.user} /etc/envgrid/envgrid.env   # then set ENVGRID_DSN in it\n"
        "  systemctl daemon-reload && systemctl enable --now envgrid\n"
        "  journalctl -u envgrid -f"
    )
    return 0
