"""Derive ec2soap/cloudstack/spec.json from the CloudStack 4.18 listApis reference.

The reference (``../shared/reference/cloudstack-api/commands.json``) is the yardstick our CloudStack
client and simulator are held to. We keep only facts (command names, async flag, parameter names,
types, required flags and lengths, response field names, wire keys), never descriptions.

Every reference command is in the spec; ``served`` says whether the simulator answers it, computed from
the COMMANDS its families register (ec2soap.cloudstack.simulator.FAMILIES). A family serving a command the
reference lacks is an error: the reference grows first. So the spec goes stale, and ``--check`` fails, when
the reference changes or when a family starts (or stops) serving a command.

    python tools/gen_cs_spec.py            # rewrite the spec
    python tools/gen_cs_spec.py --check    # exit 1 if the committed spec is stale
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "cloudstack-api" / "commands.json"
TARGET = ROOT / "ec2soap" / "cloudstack" / "spec.json"


def _fields(entries: list[dict]) -> dict:
    """Response entries → {name: {"type": t, "fields": {...}}} (nested objects keep their children)."""
    out: dict = {}
    for entry in entries:
        node: dict = {"type": entry.get("type", "string")}
        if entry.get("response"):
            node["fields"] = _fields(entry["response"])
        if entry["name"] in out and "fields" in out[entry["name"]] and "fields" not in node:
            continue
        out[entry["name"]] = node
    return out


def served_commands() -> set[str]:
    """The commands the simulator's families register (imported from this checkout, never an installed copy)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from ec2soap.cloudstack.simulator import FAMILIES

    return {name for family in FAMILIES for name in family.COMMANDS}


def build(source: Path, served: set[str]) -> dict:
    data = json.loads(source.read_text())
    unknown = sorted(served - set(data["commands"]))
    if unknown:
        raise SystemExit(f"the simulator serves commands the reference does not document: {unknown}")
    commands = {}
    for name, cmd in sorted(data["commands"].items()):
        wire = cmd["wire"]
        entry = {
            "isasync": cmd["isasync"],
            "kind": wire["kind"],
            "responsekey": wire["responsekey"],
            "params": {
                p["name"]: {"type": p["type"], "required": p["required"], "length": p.get("length", 255)}
                for p in cmd["params"]
            },
            "response": _fields(cmd["response"]),
            "served": name in served,
        }
        for key in ("listitemkey", "objectkey", "jobinstancetype", "adminonlyparams", "hiddenparams"):
            if wire.get(key) is not None:
                entry[key] = wire[key]
        if wire["kind"] == "async":
            entry["immediatefields"] = wire["immediateresponse"]["fields"]
            entry["jobresultkind"] = wire["jobresult"]["kind"]
            if wire["jobresult"].get("objectkey"):
                entry["jobresultkey"] = wire["jobresult"]["objectkey"]
        commands[name] = entry
    return {"cloudstackversion": data["_meta"]["cloudstackversion"], "commands": commands}


def render(spec: dict) -> str:
    return json.dumps(spec, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when stale")
    args = parser.parse_args(argv)
    text = render(build(args.source, served_commands()))
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python tools/gen_cs_spec.py", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(ROOT)} is current")
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
