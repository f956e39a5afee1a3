"""ec2soap.registry: every family is imported explicitly; a missing one or a name declared twice is an error."""
from __future__ import annotations

import sys
import types

import pytest

from ec2soap.registry import FAMILIES, collect


def _package(monkeypatch: pytest.MonkeyPatch, name: str, **families: dict) -> str:
    package = types.ModuleType(name)
    package.__path__ = []  # a package, so its families import as submodules from sys.modules
    monkeypatch.setitem(sys.modules, name, package)
    for family, table in families.items():
        module = types.ModuleType(f"{name}.{family}")
        module.TABLE = table
        monkeypatch.setitem(sys.modules, f"{name}.{family}", module)
    return name


def test_every_family_exists_in_every_package() -> None:
    for package in ("ec2soap.core", "ec2soap.wire.types"):
        collect(package, None)  # raises ImportError for a family that has no module


def test_a_missing_family_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    name = _package(monkeypatch, "fake_registry_pkg", a={"X": 1})
    with pytest.raises(ModuleNotFoundError):
        collect(name, "TABLE", ("a", "b"))


def test_a_name_declared_by_two_families_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    name = _package(monkeypatch, "fake_registry_pkg2", a={"X": 1}, b={"X": 2})
    with pytest.raises(ValueError, match="X is declared by two families"):
        collect(name, "TABLE", ("a", "b"))
    assert collect(name, "TABLE", ("a",)) == {"X": 1}


def test_families_are_the_modules_that_exist() -> None:
    assert "passwords" not in FAMILIES and len(set(FAMILIES)) == len(FAMILIES)
