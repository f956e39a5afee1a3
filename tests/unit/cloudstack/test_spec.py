"""spec.json against the shared CloudStack reference: `tools/gen_cs_spec.py --check` passes, and the check
notices what it exists to notice (a reference change, a family that starts or stops serving a command)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ec2soap.cloudstack import spec

ROOT = Path(__file__).resolve().parents[3]
GENERATOR = ROOT / "tools" / "gen_cs_spec.py"


def _generator() -> ModuleType:
    loaded = importlib.util.spec_from_file_location("gen_cs_spec", GENERATOR)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def test_committed_spec_is_current() -> None:
    done = subprocess.run([sys.executable, str(GENERATOR), "--check"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is current" in done.stdout


def test_the_check_sees_reference_and_served_changes(tmp_path: Path) -> None:
    gen = _generator()
    committed = gen.TARGET.read_text()
    served = gen.served_commands()
    assert gen.render(gen.build(gen.DEFAULT_SOURCE, served)) == committed
    # A family that stops serving a command (or starts: the same flag) makes the spec stale.
    assert gen.render(gen.build(gen.DEFAULT_SOURCE, served - {"listZones"})) != committed
    # So does any change to the reference.
    reference = json.loads(gen.DEFAULT_SOURCE.read_text())
    del reference["commands"][next(name for name in sorted(reference["commands"]) if name not in served)]
    changed = tmp_path / "commands.json"
    changed.write_text(json.dumps(reference))
    assert gen.render(gen.build(changed, served)) != committed
    # A command served but missing from the reference is refused: the reference grows first.
    del reference["commands"]["listZones"]
    changed.write_text(json.dumps(reference))
    with pytest.raises(SystemExit, match="listZones"):
        gen.build(changed, served)


def test_the_spec_holds_the_whole_reference() -> None:
    reference = json.loads(_generator().DEFAULT_SOURCE.read_text())["commands"]
    assert sorted(spec.commands()) == sorted(reference)
    assert spec.served() <= set(reference)
    # Commands the reference documents and the simulator does not serve (yet) are in the spec, unserved.
    assert {type(entry["served"]) for entry in spec.commands().values()} == {bool}
    assert spec.served() < set(reference)
