"""The root settings: one field per section, each section declared by the package
that owns it.  Adding a section is one line here.

Loading (defaults < TOML file < environment < command line), coercion and
presentation live in :mod:`store.config`; this module only composes.  Packages
never import this class: each names the sections it reads in a small Protocol
(``store.settings.StoreConfig``, ``ingest.settings.IngestConfig``,
``web.settings.WebConfig`` …), which :class:`Settings` satisfies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aggregates.settings import AggregatesSettings
from alerts.settings import AlertSettings
from ingest.settings import IngestSettings
from store.backup.settings import BackupSettings
from store.cluster import ClusterSettings
from store.config import LoadedSettings, load_with_sources, sections_of
from store.settings import CoreSettings, DatabaseSettings
from web.casework.kernel.settings import CaseSettings
from web.settings import WebSettings

__all__ = ["SECTIONS", "Settings", "load_settings", "load_settings_with_sources"]


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration.  One field per section — add new sections here."""

    core: CoreSettings = field(default_factory=CoreSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    aggregates: AggregatesSettings = field(default_factory=AggregatesSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    web: WebSettings = field(default_factory=WebSettings)
    cases: CaseSettings = field(default_factory=CaseSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)


#: (name, section class) for every section, in declaration order.
SECTIONS: Final = sections_of(Settings)


def load_settings_with_sources(
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
    *,
    discover: bool = True,
    cwd: Path | None = None,
) -> LoadedSettings[Settings]:
    """:class:`Settings` from defaults, the file, ``environ`` and ``overrides``, with the
    source of every value (see :func:`store.config.load_with_sources`)."""
    return load_with_sources(Settings, path, environ, overrides, discover=discover, cwd=cwd)


def load_settings(
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
    *,
    discover: bool = True,
) -> Settings:
    """:class:`Settings` from defaults, the TOML file, ``environ`` and ``overrides``.

    ``path`` is the ``--config`` file (must exist); without it ``$ENVGRID_CONFIG`` or
    ``./envgrid.toml`` is used unless ``discover`` is false (tests: no stray files).
    Raises ``ConfigError`` with a one-line, actionable message.
    """
    return load_settings_with_sources(path, environ, overrides, discover=discover).settings
