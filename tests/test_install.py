"""The locked environment stays one: tools/install.sh installs with requirements.lock as pip
constraints, the lock holds every dependency of ``.[test]`` within pyproject.toml's ranges,
envs/*.yaml pin the lock's versions, and this environment has the lock's versions of the key
packages (a drifted venv or lock fails here)."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
INSTALL_SCRIPT = REPO / "tools" / "install.sh"
KEY_PACKAGES = ["tensorflow", "keras", "jax", "snakemake", "dtaidistance", "numpy"]
# Extras the lock covers: the test extra and the ones it includes (bench is not part of it).
LOCKED_EXTRAS = ["test", "slurm", "jax"]
# Conda packages that are no Python distribution, so not in the lock.
NOT_IN_LOCK = {"coreutils"}


def locked_versions() -> dict[str, str]:
    """The lock's ``name==version`` lines as {canonical name: version}."""
    versions: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, version = line.split("==")
        assert canonicalize_name(name) not in versions, f"{name} twice in the lock"
        versions[canonicalize_name(name)] = version
    return versions


def locked_python() -> str:
    """The Python version (major.minor) the lock was made with, from its header."""
    match = re.search(r"^# Made by .*Python (\d+\.\d+)\.\d+", LOCK.read_text(), re.M)
    assert match, "the lock's header does not say which Python made it"
    return match.group(1)


def pip_install_commands() -> list[list[str]]:
    """Every ``pip install`` command of tools/install.sh as words, shell variables expanded."""
    script = INSTALL_SCRIPT.read_text()
    variables = dict(re.findall(r"^(\w+)=(\S+)$", script, re.M))
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for i, word in enumerate(words[:-1]):
            if word.endswith("pip") and words[i + 1] == "install":
                commands.append(
                    [re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], w) for w in words[i:]]
                )
    return commands


def constraint_files(words: list[str]) -> list[str]:
    """The files a pip command passes with ``-c FILE``, ``--constraint FILE`` or
    ``--constraint=FILE``."""
    files = []
    for i, word in enumerate(words):
        if word in ("-c", "--constraint") and i + 1 < len(words):
            files.append(words[i + 1])
        elif word.startswith("--constraint="):
            files.append(word.split("=", 1)[1])
    return files


def conda_pins() -> list[tuple[str, str, str]]:
    """(environment file, package, spec) for every package an envs/*.yaml lists, pip ones too."""

    def entries(items: list) -> list[str]:
        out: list[str] = []
        for item in items:
            out += entries(item["pip"]) if isinstance(item, dict) else [item]
        return out

    pins = []
    for path in sorted((REPO / "envs").glob("*.yaml")):
        for entry in entries(yaml.safe_load(path.read_text())["dependencies"]):
            name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", entry).groups()
            pins.append((path.name, name, spec))
    return pins


def test_install_sh_passes_the_lock_to_every_pip_install_in_both_modes():
    commands = pip_install_commands()
    editable = [words[words.index("-e") + 1] for words in commands if "-e" in words]
    assert sorted(editable) == [".", ".[test]"], commands
    for words in commands:
        assert [REPO / f for f in constraint_files(words)] == [LOCK], words


def test_the_lock_pins_every_line_exactly_and_says_how_to_refresh_it():
    text = LOCK.read_text()
    body = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert body and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+!-]+", line) for line in body)
    assert "Refresh: bash tools/lock.sh" in text
    assert (REPO / "tools" / "lock.sh").is_file()


def test_every_pyproject_dependency_is_locked_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        requirements += project["optional-dependencies"][extra]
    locked = locked_versions()
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock has {requirement.name}=={locked[name]}, outside {text}"
        )


def test_the_lock_holds_every_installed_dependency_of_the_test_extra():
    """The transitive closure of transfer-tsc[test] in this environment (its metadata) is locked."""
    locked = locked_versions()
    seen: dict[str, set[str]] = {}
    todo = [("transfer-tsc", {"test"})]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in seen and extras <= seen[key]:
            continue
        seen[key] = seen.get(key, set()) | extras
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in extras or {""}):
                continue
            todo.append((requirement.name, set(requirement.extras)))
    missing = sorted(set(seen) - set(locked) - {"transfer-tsc"})
    assert not missing, f"installed but not in requirements.lock: {missing}"


@pytest.mark.parametrize("package", KEY_PACKAGES)
def test_this_environment_has_the_locked_version(package: str):
    locked = locked_versions()[canonicalize_name(package)]
    installed = importlib.metadata.version(package)
    assert installed == locked, (
        f"{package} {installed} is installed, requirements.lock has {locked}: "
        "reinstall (bash tools/install.sh --test) or refresh the lock (bash tools/lock.sh)"
    )


def test_conda_environments_pin_the_locked_versions():
    locked = locked_versions()
    python = locked_python()
    for env_file, name, spec in conda_pins():
        if name == "python":
            assert spec == f"={python}", (
                f"{env_file}: python{spec}, the lock is for Python {python}"
            )
        elif name in NOT_IN_LOCK:
            continue
        else:
            version = locked.get(canonicalize_name(name))
            assert spec == f"=={version}", (
                f"{env_file}: {name}{spec}, requirements.lock has {version}"
            )
