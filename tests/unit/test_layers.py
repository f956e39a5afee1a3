"""Contracts of the architecture (STYLE.md §1, §9): imports point downward, and every operation the core
implements is reachable over Query with a response shape."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ec2soap"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_no_framework(path: Path) -> None:
    forbidden = ("twisted", "spyne", "lxml", "sqlalchemy", "ec2soap.query", "ec2soap.soap", "ec2soap.s3",
                 "ec2soap.store", "ec2soap.server", "ec2soap.gateway")
    bad = sorted(name for name in imports_of(path) if name.startswith(forbidden))
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("folder, forbidden", [
    ("query", ("ec2soap.soap", "ec2soap.s3")),
    ("soap", ("ec2soap.query", "ec2soap.s3")),
    ("s3", ("ec2soap.core", "ec2soap.query", "ec2soap.soap", "ec2soap.gateway")),
    ("auth", ("twisted", "spyne", "ec2soap.core", "ec2soap.query", "ec2soap.soap", "ec2soap.s3")),
    ("wire", ("twisted", "ec2soap.query", "ec2soap.soap", "ec2soap.core")),
])
def test_adapters_stay_apart(folder: str, forbidden: tuple[str, ...]) -> None:
    for path in modules(folder):
        bad = sorted(name for name in imports_of(path) if name.startswith(forbidden))
        assert bad == [], f"{folder}/{path.name} imports {bad}"


def test_every_operation_has_a_query_binding_and_a_response_shape() -> None:
    from ec2soap.core.operations import OPERATIONS
    from ec2soap.wire import types  # noqa: F401
    from ec2soap.wire.inputs import REQUESTS as BINDINGS
    from ec2soap.wire.shapes import RESPONSES

    assert OPERATIONS, "the core implements nothing"
    assert sorted(set(OPERATIONS) - set(BINDINGS)) == []
    assert sorted(set(OPERATIONS) - set(RESPONSES)) == []
    assert sorted(set(BINDINGS) - set(OPERATIONS)) == []


def test_error_codes_are_unique_and_named_after_their_class() -> None:
    from ec2soap.errors import ERRORS

    for code, cls in ERRORS.items():
        assert cls.code == code and cls.__name__ == code.replace(".", "")
    assert len({cls.__name__ for cls in ERRORS.values()}) == len(ERRORS)
