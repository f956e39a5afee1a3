"""The user guide's "What the S3 API supports" (docs/user-guide.md) stays true of the code: its table's served
column names exactly the sub-resources the route table serves, its "Not served" list exactly
routes.NOT_IMPLEMENTED, and the refusals it names are S3 error codes this gateway has. Adding a route, serving
a NOT_IMPLEMENTED name or renaming an error without the guide fails here; the guide's code blocks are run by
tests/system/test_docs.py, this checks its prose against the code."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ec2soap.config import Settings
from ec2soap.s3 import handlers_object_lock, routes
from ec2soap.s3.attributes import ATTRIBUTES
from ec2soap.s3.checksums import KNOWN
from ec2soap.s3.errors import ERRORS, S3Error
from ec2soap.s3.xml_lifecycle import parse_lifecycle

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "user-guide.md"
HEADING = "## 9. What the S3 API supports"
_SUBRESOURCE = re.compile(r"`\?([A-Za-z][A-Za-z-]*)")
_CODE = re.compile(r"`([A-Za-z][A-Za-z0-9-]*)`")
# Backticked words of the refused column that are not error codes: the settings, elements, canned ACLs and
# values refused.
_NOT_CODES = {"MfaDelete", "Enabled", "Transition", "NoncurrentVersionTransition", "BlockPublicPolicy",
              "BucketOwnerEnforced", "If-None-Match", "If-Match", "Origin", "Access-Control-Request-Method",
              "x-amz-content-sha256", "awscrt", "bucket-owner-full-control", "private"}


def _section() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    assert HEADING in text, "the user guide has no S3 support section"
    section = text.split(HEADING, 1)[1]
    return section.split("\n## ", 1)[0]


def _rows() -> dict[str, tuple[str, str]]:
    """family → (served, refused): the section's table, header and rule rows left out."""
    rows = {}
    for line in _section().splitlines():
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| family "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"a table row of the S3 section is not family | served | refused: {line!r}"
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def _not_served_list() -> set[str]:
    part = _section().split("### Not served", 1)
    assert len(part) == 2, "the S3 section has no 'Not served' list"
    first_paragraph = part[1].strip().split("\n\n", 1)[0]
    return set(_SUBRESOURCE.findall(first_paragraph))


def _refusal(handler: object) -> bool:
    return handler is routes.method_not_allowed or handler is handlers_object_lock.not_served or \
        getattr(handler, "__name__", "").startswith("not_implemented_")


def _served_subresources() -> set[str]:
    """The sub-resources some route row truly serves (not a MethodNotAllowed or NotImplemented row)."""
    return {name for route in routes.ROUTES if not _refusal(route.handler) for name in route.subresources}


def test_the_served_column_names_exactly_the_served_subresources() -> None:
    named = {name for served, _ in _rows().values() for name in _SUBRESOURCE.findall(served)}
    served = _served_subresources()
    assert served - named == set(), "served by s3/routes.py but missing from the guide's S3 table"
    assert named - served == set(), "listed as served in the guide but not served by s3/routes.py"


def test_the_not_served_list_is_routes_not_implemented() -> None:
    listed = _not_served_list()
    assert listed == set(routes.NOT_IMPLEMENTED)
    # and each of them is truly refused on every method and target, never served
    assert listed.isdisjoint(_served_subresources())
    assert all(not methods for name, methods in routes.subresources().items() if name in listed)


def test_the_refused_column_names_known_subresources_and_real_error_codes() -> None:
    known = set(routes.subresources())
    for family, (_, refused) in _rows().items():
        assert set(_SUBRESOURCE.findall(refused)) <= known, family
        for word in _CODE.findall(refused):
            assert word in ERRORS or word in _NOT_CODES, f"{family}: `{word}` is no S3 error code of ours"


def test_every_family_the_brief_lists_has_a_row() -> None:
    families = set(_rows())
    assert {"buckets", "objects", "listing", "multipart uploads", "ACLs", "policies", "public access block",
            "ownership controls", "CORS", "versioning", "tagging", "lifecycle", "object lock",
            "conditional writes", "checksums and attributes", "browser POST uploads", "signing",
            "storage classes and encryption"} <= families


def test_checksums_row_names_every_algorithm_and_attribute() -> None:
    served, _ = _rows()["checksums and attributes"]
    for name in KNOWN:
        assert f"x-amz-checksum-{name}" in served or f"-{name}`" in served, name
    for attribute in ATTRIBUTES:
        assert f"`{attribute}`" in served, attribute


def test_lifecycle_row_names_the_sweeper_setting_and_its_default() -> None:
    served, _ = _rows()["lifecycle"]
    field = {f.name: f for f in dataclasses.fields(Settings)}["s3_lifecycle_interval"]
    assert "`s3_lifecycle_interval`" in served
    assert "default %d;" % field.default in served


@pytest.mark.parametrize("action", ["Transition", "NoncurrentVersionTransition"])
def test_lifecycle_transitions_are_refused_as_the_guide_says(action: str) -> None:
    inner = "<Days>30</Days><StorageClass>GLACIER</StorageClass>" if action == "Transition" else \
        "<NoncurrentDays>30</NoncurrentDays><StorageClass>GLACIER</StorageClass>"
    body = ("<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix/></Filter>"
            f"<{action}>{inner}</{action}></Rule></LifecycleConfiguration>").encode()
    with pytest.raises(S3Error) as refused:
        parse_lifecycle(body)
    assert refused.value.code == "NotImplemented"
    _, guide_says = _rows()["lifecycle"]
    assert f"`{action}`" in guide_says and "`NotImplemented`" in guide_says
