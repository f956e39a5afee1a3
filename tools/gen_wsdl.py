#!/usr/bin/env python3
"""Write wsdl/AmazonEC2.wsdl, the EC2 WSDL we publish, from our Spyne application (ec2soap.soap).

`--check` writes nothing: exit 1 (and say so) when the committed file differs from what the code generates, so
a test keeps the two from drifting. The service address in the file is a placeholder; the server answers ?wsdl
with its own address.

Usage: python tools/gen_wsdl.py [--check] [--output wsdl/AmazonEC2.wsdl]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "wsdl" / "AmazonEC2.wsdl"


def generate() -> bytes:
    sys.path.insert(0, str(ROOT))
    from ec2soap.soap.service import build_application
    from ec2soap.soap.wsdl import wsdl_document

    app, _models = build_application()
    return wsdl_document(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed WSDL is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    document = generate()
    if args.check:
        current = args.output.read_bytes() if args.output.exists() else b""
        if current != document:
            print(f"{args.output} is stale: run python tools/gen_wsdl.py")
            return 1
        print(f"{args.output} is current")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(document)
    print(f"wrote {args.output} ({len(document)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
