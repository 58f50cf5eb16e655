"""``envgrid serve --role``: which roles a host plays and which child processes it starts
(the ingest workers are the supervisor's; see tests/envgrid/test_scale_out.py for real
hosts)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from envgrid import serve
from store.cluster import ROLES
from store.validation import ConfigError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.configure(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "configured", "roles", "children"),
    [
        ((), ROLES, ROLES, ["web", "alerts", "forward"]),
        (("--role", "ingest"), ROLES, ("ingest",), []),
        (("--role", "alerts,ingest"), ROLES, ("ingest", "alerts"), ["alerts", "forward"]),
        (
            ("--role", "web", "--role", "alerts"),
            ROLES,
            ("web", "alerts"),
            ["web", "alerts", "forward"],
        ),
        (("--role", "web"), ROLES, ("web",), ["web"]),  # no scheduler: the leader has it
        ((), ("ingest", "web"), ("ingest", "web"), ["web"]),  # cluster.roles
        # the old flags drop roles; --no-alerts keeps the dashboard's jobs (elected)
        (("--no-web", "--no-alerts"), ROLES, ("ingest",), []),
        (("--no-alerts",), ROLES, ("ingest", "web"), ["web", "jobs"]),
        (("--no-web",), ROLES, ("ingest", "alerts"), ["alerts", "forward"]),
        # the forwarder runs (elected) beside every alerts candidate, unless --no-forward
        (("--no-forward",), ROLES, ROLES, ["web", "alerts"]),
        (("--role", "web,alerts", "--no-alerts"), ROLES, ("web",), ["web", "jobs"]),
    ],
)
def test_roles_and_children(
    argv: tuple[str, ...],
    configured: tuple[str, ...],
    roles: tuple[str, ...],
    children: list[str],
) -> None:
    args = _args(*argv)
    got = serve.roles(args, configured)
    assert got == roles
    assert [s.name for s in serve.services(args, got)] == children


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--role", "ingest,leader"), "--role: unknown role leader"),
        (("--role", ","), "--role: no role given"),
        (("--role", "web", "--no-web"), "nothing to run"),
    ],
)
def test_bad_roles(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        serve.roles(_args(*argv), ROLES)


def test_cli_exit_code_2_names_the_role() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envgrid", "serve", "--role", "ingset"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown role ingset: choose from ingest, web, alerts" in done.stderr
