"""``envgrid serve``'s child processes: the forwarder runs beside the alert engine only."""

from __future__ import annotations

import argparse

import pytest

from envgrid import serve


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        ([], ["web", "alerts", "forward"]),
        (["--no-forward"], ["web", "alerts"]),
        (["--no-alerts"], ["web", "jobs"]),
        (["--no-web", "--no-alerts"], []),
        (["--no-web"], ["alerts", "forward"]),
    ],
)
def test_services(argv: list[str], names: list[str]) -> None:
    parser = argparse.ArgumentParser()
    serve.configure(parser)
    assert [s.name for s in serve.services(parser.parse_args(argv))] == names
