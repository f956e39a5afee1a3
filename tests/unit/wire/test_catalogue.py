"""The catalogue of actions (wire/catalogue.py): the 2010-11-15 entries are the reference WSDL's operations, the
later ones are EC2's (botocore's model), the implemented ones are the core's, and the extensions the original's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ec2soap.wire.catalogue import CATALOGUE, EXTENSIONS, UNSUPPORTED, entry, implemented, soap_actions
from ec2soap.wire.shapes import BASE_VERSION

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "awsapi" / "wsdl" / "AmazonEC2.wsdl"


def test_the_2010_entries_are_the_reference_wsdls_operations() -> None:
    if not REFERENCE.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    operations = set(re.findall(r'<operation name="(\w+)"', REFERENCE.read_text()))
    ours = {a for a, e in CATALOGUE.items() if e.since == BASE_VERSION}
    assert sorted(ours ^ operations) == []
    assert sorted(a for a in ours if not entry(a).soap) == []


def test_the_later_entries_are_ec2_actions() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    later = [a for a, e in CATALOGUE.items() if e.status != "extension" and e.since != BASE_VERSION]
    assert later and sorted(a for a in later if a not in model.operation_names) == []
    assert all(e.since and re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.since) and e.since > BASE_VERSION
               for a, e in CATALOGUE.items() if a in later)


def test_implemented_is_what_the_core_runs_and_extensions_are_the_originals() -> None:
    from ec2soap.core.extensions import EXTENSIONS as CORE_EXTENSIONS
    from ec2soap.core.operations import OPERATIONS
    from ec2soap.query.extensions import QUERY_EXTENSIONS

    assert sorted(a for a in CATALOGUE if implemented(a)) == sorted(OPERATIONS)
    assert EXTENSIONS == set(CORE_EXTENSIONS) == set(QUERY_EXTENSIONS)
    assert not set(UNSUPPORTED) & set(OPERATIONS)


def test_soap_offers_the_2010_actions_only() -> None:
    from ec2soap.soap.service import build_application

    _app, models = build_application()
    assert sorted(models.requests) == soap_actions()
    assert "DescribeInstanceStatus" not in soap_actions() and "DescribeKeyPairs" in soap_actions()
    assert entry("DescribeVpcs").soap and not entry("CopyImage").soap and entry("NoSuchAction") is None
