"""Pinned dependencies: a fresh machine installs exactly what was tested.

* every dependency of pyproject.toml (the dev extra included) is pinned in
  constraints.txt with ``==``, to a version its own specifier allows;
* so is everything they pull in (the transitive closure, markers evaluated for this
  machine), and the virtualenv the tests run in holds exactly those versions;
* constraints.txt holds only ``name==version`` lines, each name once;
* the Makefile installs Python packages only with ``-c constraints.txt`` and the front-end
  libraries only with ``npm ci`` (the lock file).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
#: Installed alongside but not installed *by* the project: the venv's own tools.
TOOLING = frozenset({"pip", "setuptools", "wheel", "envgrid"})


def project() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]  # type: ignore[no-any-return]


def direct_requirements() -> list[Requirement]:
    meta = project()
    deps = list(meta["dependencies"])  # type: ignore[call-overload]
    for extra in meta.get("optional-dependencies", {}).values():  # type: ignore[attr-defined]
        deps += extra
    return [Requirement(d) for d in deps]


def constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, raw in enumerate((REPO / "constraints.txt").read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;,]+)", line)
        assert m, f"constraints.txt:{number}: not 'name==version': {raw!r}"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"constraints.txt:{number}: {name} pinned twice"
        pins[name] = Version(m.group(2))
    return pins


def test_every_direct_dependency_is_pinned_within_its_range() -> None:
    pins = constraints()
    problems = []
    for req in direct_requirements():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not pinned in constraints.txt")
        elif req.specifier and pins[name] not in req.specifier:
            problems.append(f"{req}: constraints.txt pins {pins[name]}, outside the range")
    assert not problems, "\n".join(problems)


def closure() -> dict[str, set[str]]:
    """Every distribution the project's requirements pull in → who requires it."""
    seen: dict[str, set[str]] = {}
    todo = [(req, "pyproject.toml") for req in direct_requirements()]
    while todo:
        req, parent = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        first = name not in seen
        seen.setdefault(name, set()).add(parent)
        if not first:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # reported by the caller
        for raw in dist.requires or ():
            sub = Requirement(raw)
            if sub.marker is not None and not any(
                sub.marker.evaluate({"extra": extra}) for extra in (*req.extras, "")
            ):
                continue  # another platform, or an extra nobody asked for
            todo.append((sub, name))
    return seen


def test_the_whole_closure_is_pinned_and_installed_at_the_pins() -> None:
    pins = constraints()
    problems = []
    for name, parents in sorted(closure().items()):
        if name in TOOLING:
            continue
        who = ", ".join(sorted(parents))
        if name not in pins:
            problems.append(f"{name} (needed by {who}) is not pinned in constraints.txt")
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            problems.append(f"{name} (needed by {who}) is not installed")
            continue
        if installed != pins[name]:
            problems.append(f"{name}: {installed} installed, constraints.txt pins {pins[name]}")
    assert not problems, "\n".join(problems)


def test_makefile_installs_only_through_the_pins() -> None:
    makefile = (REPO / "Makefile").read_text()
    lines = makefile.replace("\\\n", " ").splitlines()
    pip = [line for line in lines if re.search(r"\bpip\b.*\binstall\b", line)]
    assert pip, "the Makefile installs no Python packages?"
    for line in pip:
        assert re.search(r"(-c|--constraint)\s+constraints\.txt\b", line), line
    npm = [line for line in lines if re.search(r"\bnpm\s+(install|i|ci)\b", line)]
    for line in npm:
        assert re.search(r"\bnpm\s+ci\b", line), f"use npm ci (the lock file): {line}"
    if npm:
        assert (REPO / "web" / "frontend" / "package-lock.json").exists()
    # the set-up is redone when the pins change
    assert re.search(r"^\$\(STAMP\):.*\bconstraints\.txt\b", makefile, re.MULTILINE)
