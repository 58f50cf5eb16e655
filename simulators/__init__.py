"""Simulated HJ 212 data loggers (``envgrid simulate``), for users and the benchmark.

Each station is a long-lived TCP client that behaves like a field data logger:
2081 after connecting; real-time (2011), minute (2051), hourly (2061) and daily
(2031) data and 2021 status on the clock; answers to downlink requests (9011,
the data, 9012; 9013 for notifications); retransmission of uploads whose 9014
does not arrive (10 s × 3 by default).  Values are realistic and deterministic
per seed; faults are injected on demand and recorded as ground truth.

Python API::

    config = FleetConfig(port=2121, stations=1000, st=("22", "31", "32"), time_scale=60,
                         duration=30, min_interval=10, hourly=True)
    identities = station_identities(1000, seed=1, st=("22", "31", "32"))  # register first
    result = await run_fleet(config)          # in this process, on the running loop
    result = run(config)                      # blocking; several processes if needed
    result.to_json()                          # the summary (schema in simulators.result)

Modules: :mod:`.profiles` (station types), :mod:`.values` (the signal),
:mod:`.identities`, :mod:`.clock`, :mod:`.schedule`, :mod:`.faults`,
:mod:`.packets`, :mod:`.link` (TCP, acks, retransmission), :mod:`.station`,
:mod:`.fleet` (one process), :mod:`.multi` (many), :mod:`.replay`,
:mod:`.progress`, :mod:`.cli`.
"""

from .clock import ClockAnchor, VirtualClock
from .config import ConfigError, FleetConfig
from .faults import FAULT_GRAMMAR, FaultKind, FaultSpec, parse_faults
from .fleet import run_fleet
from .identities import Area, StationIdentity, station_identities, station_identity
from .multi import plan, run
from .profiles import PROFILES, FactorProfile, StationProfile, profile_for
from .replay import ReplayConfig, run_replay
from .result import FleetResult
from .station import SimStation

__all__ = [
    "FAULT_GRAMMAR",
    "PROFILES",
    "Area",
    "ClockAnchor",
    "ConfigError",
    "FactorProfile",
    "FaultKind",
    "FaultSpec",
    "FleetConfig",
    "FleetResult",
    "ReplayConfig",
    "SimStation",
    "StationIdentity",
    "StationProfile",
    "VirtualClock",
    "parse_faults",
    "plan",
    "profile_for",
    "run",
    "run_fleet",
    "run_replay",
    "station_identities",
    "station_identity",
]
