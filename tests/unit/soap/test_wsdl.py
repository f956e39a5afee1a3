"""Our WSDL: generated from our models and committed (gen_wsdl --check), equal to the reference for every
operation we publish (compare_wsdl), loadable by zeep; and the SOAP tables cover the core."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT.parent / "shared" / "reference" / "awsapi" / "wsdl" / "AmazonEC2.wsdl"


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_committed_wsdl_is_current() -> None:
    result = run_tool("tools/gen_wsdl.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_our_wsdl_matches_the_reference_for_every_implemented_operation() -> None:
    if not REFERENCE.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    result = run_tool("tools/compare_wsdl.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 difference(s)")


def test_the_comparison_finds_differences(tmp_path: Path) -> None:
    """The tool is not vacuous: a changed occurrence and a renamed element are reported."""
    if not REFERENCE.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    text = (ROOT / "wsdl" / "AmazonEC2.wsdl").read_text()
    text = text.replace('<xs:element name="keyFingerprint" type="xs:string"/>',
                        '<xs:element name="keyFingerprint" type="xs:string" minOccurs="0"/>', 1)
    text = text.replace('<xs:element name="publicKeyMaterial"', '<xs:element name="publicKey"', 1)
    changed = tmp_path / "changed.wsdl"
    changed.write_text(text)
    result = run_tool("tools/compare_wsdl.py", "--check", "--ours", str(changed))
    assert result.returncode == 1
    assert "keyFingerprint: occurs reference 1..1, ours 0..1" in result.stdout
    assert "publicKeyMaterial" in result.stdout


def test_zeep_loads_our_wsdl() -> None:
    import zeep

    client = zeep.Client(str(ROOT / "wsdl" / "AmazonEC2.wsdl"))
    operations = client.service._binding._operations
    assert {"DescribeKeyPairs", "CreateKeyPair", "ImportKeyPair", "DeleteKeyPair"} <= set(operations)
    message = client.create_message(client.service, "DescribeKeyPairs", keySet={"item": [{"keyName": "a"}]})
    body = message.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body[0].tag == "{http://ec2.amazonaws.com/doc/2010-11-15/}DescribeKeyPairs"


def test_every_2010_operation_the_core_implements_has_a_soap_method() -> None:
    import re

    from ec2soap.core.operations import OPERATIONS
    from ec2soap.soap.service import build_application
    from ec2soap.wire.inputs import REQUESTS as SHAPES

    REQUESTS = BINDINGS = {a for a, shape in SHAPES.items() if shape.soap is not None}

    if not REFERENCE.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    in_2010 = set(re.findall(r'<operation name="(\w+)"', REFERENCE.read_text()))
    _app, models = build_application()
    wanted = set(OPERATIONS) & in_2010
    assert sorted(wanted - set(REQUESTS)) == []
    assert sorted(wanted - set(BINDINGS)) == []
    assert sorted(wanted - set(models.requests)) == []
