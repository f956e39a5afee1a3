"""Contracts of the architecture (STYLE.md §1, §9): imports point downward, and every operation the core
implements is reachable over Query with a response shape."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ec2soap"


def imports_of(path: Path) -> set[str]:
    """The modules PATH imports, relative imports resolved to absolute names (`from .x import y` in
    ec2soap/auth/z.py is ec2soap.auth.x; `from . import y` is ec2soap.auth.y)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]  # a module's or __init__'s
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.add(node.module or "")
                continue
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            if node.module:
                names.add(".".join([*base, node.module]))
            else:
                names.update(".".join([*base, alias.name]) for alias in node.names)
    return names


def test_relative_imports_are_resolved() -> None:
    found = imports_of(PACKAGE / "auth" / "sigv4.py") | imports_of(PACKAGE / "auth" / "signatures.py")
    assert not any(name.startswith(".") for name in found)
    relative = [p for p in modules("auth") if "from ." in p.read_text()]
    assert len(relative) >= 5  # auth/ imports its own modules relatively: the rules above must see them
    assert all(any(n.startswith("ec2soap.auth.") for n in imports_of(p)) for p in relative)


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


def test_the_simulator_engine_imports_no_family() -> None:
    """architecture.md: the engine and the request context know no family; the composition root joins them."""
    from ec2soap.cloudstack.simulator import FAMILIES

    families = {family.__name__ for family in FAMILIES}
    for name in ("engine.py", "context.py", "params.py", "errors.py"):
        bad = sorted(imports_of(PACKAGE / "cloudstack" / "simulator" / name) & families)
        assert bad == [], f"simulator/{name} imports {bad}"


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
