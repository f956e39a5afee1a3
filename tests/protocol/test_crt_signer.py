"""botocore's CRT path, in a run of its own.

The suite runs botocore's pure-Python SigV4 signer (tests/conftest.py sets BOTO_DISABLE_CRT), which is what
boto3 without the [crt] extra uses. With awscrt present botocore signs with the CRT instead and computes
CRC32C/CRC64NVME itself; botocore reads that switch once, at import, so the CRT run is a subprocess with
EC2SOAP_TEST_BOTO_CRT=1: the `crt` checksum tests (skipped in the main run), then EC2 and S3 signing tests
that send boto3's SigV4 requests, now signed by the CRT.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (pytest arguments, the fewest tests that must pass): 7 `crt` checksum cases today; 8 signing tests and the check
# that the CRT signs.
RUNS = [
    (["-m", "crt", "tests/protocol/s3/test_checksums.py"], 7),
    (["tests/protocol/ec2/test_signed_params.py::test_clients_send_spaces_plus_percent_and_unicode_unchanged[boto3]",
      "tests/protocol/s3/test_signed_query.py",
      "tests/protocol/test_crt_signer.py::test_botocore_signs_with_the_signer_this_run_chose"], 9),
]


def summary(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line ('7 passed, 20 deselected in 3.1s'): {} when there is none."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error|skipped)", line)]
    if not lines:
        return {}
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", lines[-1])}


def test_botocore_signs_with_the_signer_this_run_chose() -> None:
    """Pure Python in the main run; the CRT's in the subprocess's (its signing run includes this test)."""
    import botocore.auth
    import botocore.compat

    if os.environ.get("EC2SOAP_TEST_BOTO_CRT") == "1":
        from botocore.crt.auth import CrtSigV4Auth

        assert botocore.compat.HAS_CRT is True
        assert botocore.auth.AUTH_TYPE_MAPS["v4"] is CrtSigV4Auth
    else:
        assert os.environ["BOTO_DISABLE_CRT"] == "true" and botocore.compat.HAS_CRT is False
        assert botocore.auth.AUTH_TYPE_MAPS["v4"] is botocore.auth.SigV4Auth


@pytest.mark.timeout(900)
@pytest.mark.parametrize("args, at_least", RUNS, ids=["checksums", "signing"])
def test_crt_signer_run(args: list[str], at_least: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOTO_DISABLE_CRT"}  # the database URLs come along
    env["EC2SOAP_TEST_BOTO_CRT"] = "1"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=840)
    output = done.stdout + done.stderr
    counts = summary(done.stdout)
    assert done.returncode == 0, output[-6000:]
    assert counts.get("passed", 0) >= at_least, output[-6000:]
    # nothing failed, errored or skipped: a `crt` test skipped here would have run nowhere
    assert not {"failed", "error", "errors", "skipped"} & counts.keys(), output[-6000:]
