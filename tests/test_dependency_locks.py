"""Every package installed is pinned with its hashes (issue 19): the locks hold what
requirements*.txt ask for, at the same versions, and nothing without a hash; `make`
installs from them with ``pip --require-hashes`` (CI's first step)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def pins(path: Path) -> dict[str, str]:
    return {name(n): v for n, v in PIN.findall(path.read_text())}


@pytest.mark.parametrize(
    ("asked", "lock"),
    [
        ("requirements.txt", "requirements.lock"),
        ("requirements-dev.txt", "requirements-dev.lock"),
    ],
)
def test_the_lock_holds_what_is_asked_at_the_same_version(asked, lock):
    wanted = pins(ROOT / asked)
    if asked == "requirements-dev.txt":
        wanted |= pins(ROOT / "requirements.txt")
    locked = pins(ROOT / lock)
    assert wanted and {n: locked.get(n) for n in wanted} == wanted
    # and more than asked: the transitive packages are pinned too
    assert len(locked) > len(wanted)


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_has_a_hash(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().strip())
    packages = [e for e in entries if PIN.match(e)]
    assert packages and all("--hash=sha256:" in e for e in packages)
    assert not [e for e in entries if not PIN.match(e) and not e.startswith("#")]


def test_make_installs_from_the_locks_with_hashes_required():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements.lock" in makefile
    assert "pip install --quiet --require-hashes -r requirements-dev.lock" in makefile
    assert "-r requirements.txt" not in makefile.replace(
        "-o requirements.lock requirements.txt", ""
    )
