"""Every reference sample through parse_response, read as what it really is (samples/INDEX.json).

cloudstack-go stores async job results under the command's key; on the wire they arrive as
queryAsyncJobResult bodies, so they are re-keyed and read as such. Its listVirtualMachines fixture has the
key "listVirtualMachines", which a real server never sends: read raw it must be a bad response, re-keyed a list.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.client import (PENDING, job_outcome, list_page, object_result, parse_response,
                                       response_key, success_result)
from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackAuthError, CloudStackBadResponse

SAMPLES = Path("/work/shared/reference/cloudstack-api/samples")
INDEX = json.loads((SAMPLES / "INDEX.json").read_text()) if SAMPLES.is_dir() else {"samples": []}
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="reference samples not present")

# What each file is on the wire: job (a queryAsyncJobResult body), rekey (a list under a wrong key), error,
# or the command's own kind. Kept explicit so a new sample must be looked at before it is tested.
WHAT = {
    "deployVirtualMachine.cloudstack-go.json": "job",
    "startVirtualMachine.cloudstack-go.json": "job",
    "stopVirtualMachine.cloudstack-go.json": "job",
    "createTemplate.cloudstack-go.json": "job",
    "createTags.cloudstack-go.json": "job",
    "deleteTags.cloudstack-go.json": "job",
    "associateIpAddress.cloudstack-go.json": "job",
    "disassociateIpAddress.cloudstack-go.json": "job",
    "listVirtualMachines.cloudstack-go.json": "rekey",
    "registerSSHKeyPair-error.libcloud.json": "error",
    "listSSHKeyPairs-empty.libcloud.json": "list",
    "listSecurityGroups-empty.libcloud.json": "list",
    "deleteSecurityGroup.libcloud.json": "success",
    "deleteSSHKeyPair.cloudstack-go.json": "success",
    "createSecurityGroup.libcloud.json": "object",
    "createSSHKeyPair.cloudstack-go.json": "object",
    "registerUserKeys.cloudstack-go.json": "object",
    "listCapabilities.cloudstack-go.json": "object",
    "updateConfiguration.cloudstack-go.json": "object",
    "registerTemplate.cloudstack-go.json": "list",
    "listSSHKeyPairs.cloudstack-go.json": "list",
    "listAsyncJobs.cloudstack-go.json": "list",
    "listUsers.cloudstack-go.json": "list",
    "listUsers.cloudstack-docs.json": "list",
    "listAccounts.cloudstack-go.json": "list",
    "listConfigurations.cloudstack-go.json": "list",
    "listDiskOfferings.cloudstack-go.json": "list",
    "listNetworks.cloudstack-go.json": "list",
    "listNetworkOfferings.cloudstack-go.json": "list",
    "listApis.cloudstack-go.json": "list",
}
ENTRIES = {s["file"]: s for s in INDEX["samples"]}


def test_every_sample_is_classified_and_agrees_with_the_index() -> None:
    assert set(WHAT) == set(ENTRIES) == {p.name for p in SAMPLES.glob("*.json")} - {"INDEX.json"}
    for name, entry in ENTRIES.items():
        notes = " ".join(entry["notes"])
        assert ("Body is a queryAsyncJobResult result" in notes) == (WHAT[name] == "job"), name
        assert ("Top-level key in the fixture is" in notes) == (WHAT[name] == "rekey"), name
        if WHAT[name] in ("list", "object", "success"):
            assert spec.command(entry["command"])["kind"] == WHAT[name], name


def _rekeyed(raw: bytes, key: str) -> bytes:
    (_, inner), = json.loads(raw).items()
    return json.dumps({key: inner}).encode()


@pytest.mark.parametrize("name", sorted(WHAT))
def test_sample(name: str) -> None:
    command = ENTRIES[name]["command"]
    raw = (SAMPLES / name).read_bytes()
    what = WHAT[name]
    if what == "job":
        job = parse_response("queryAsyncJobResult", 200, _rekeyed(raw, "queryasyncjobresultresponse"))
        result = job_outcome(command, job)
        assert result is not PENDING
        if spec.command(command).get("jobresultkind") == "success":
            assert result is True
        else:
            assert isinstance(result, dict) and result["id"] == job["jobinstanceid"]
    elif what == "rekey":
        with pytest.raises(CloudStackBadResponse, match="listvirtualmachinesresponse"):
            parse_response(command, 200, raw)
        count, items = list_page(command, parse_response(command, 200, _rekeyed(raw, response_key(command))))
        assert count == len(items) == 1 and items[0]["state"] == "Running"
    elif what == "error":
        # The error keeps the status CloudStack sends with it (errorcode = HTTP status, §7).
        with pytest.raises(CloudStackApiError) as caught:
            parse_response(command, 431, raw)
        assert not isinstance(caught.value, CloudStackAuthError)
        assert (caught.value.errorcode, caught.value.cserrorcode) == (431, None)
        assert caught.value.errortext == "Public key is invalid"
    elif what == "list":
        count, items = list_page(command, parse_response(command, 200, raw))
        assert count == len(items)  # every sample holds its whole list (0 for the empty ones)
        assert all(isinstance(item, dict) for item in items)
    elif what == "object":
        result = object_result(command, parse_response(command, 200, raw))
        assert isinstance(result, dict) and result
    elif what == "success":
        assert success_result(command, parse_response(command, 200, raw)) is True


def test_specific_values() -> None:
    def read(name: str, key: str | None = None) -> dict:
        raw = (SAMPLES / name).read_bytes()
        command = "queryAsyncJobResult" if key else ENTRIES[name]["command"]
        return parse_response(command, 200, _rekeyed(raw, key) if key else raw)

    vm = job_outcome("deployVirtualMachine", read("deployVirtualMachine.cloudstack-go.json",
                                                  "queryasyncjobresultresponse"))
    assert vm["id"] == "915653c4-298b-4d74-bdee-4ced282114f1"
    keypair = object_result("createSSHKeyPair", read("createSSHKeyPair.cloudstack-go.json"))
    assert keypair["privatekey"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    count, users = list_page("listUsers", read("listUsers.cloudstack-docs.json"))
    assert count == 3 and users[0]["username"] == "admin"  # the pre-4.6 spaced style
    assert list_page("listSSHKeyPairs", read("listSSHKeyPairs-empty.libcloud.json")) == (0, [])
