"""awscli's `s3api` against the real gateway, run in-process through its own driver (as the EC2 tests run
`aws ec2`), so its argument parsing, checksums and output are the real ones. → parsed JSON, or ClientFailure
with the code, message and HTTP status awscli reported."""
from __future__ import annotations

import json
import re
from typing import Any

from tests.awscli_run import run_aws
from tests.protocol.conftest import ClientFailure, GatewayServer, Keys


def s3api(server: GatewayServer, keys: Keys, *args: str) -> Any:
    rc, stdout, stderr = run_aws(keys.access_key, keys.secret_key,
                                 ["s3api", *args, "--endpoint-url", server.url, "--output", "json"])
    if rc != 0:
        text = stderr.strip()
        found = re.search(r"\((\w+)\)", text)
        status = re.search(r"\b([45]\d\d)\b", text)
        raise ClientFailure(found.group(1) if found else "Unknown", text,
                            int(status.group(1)) if status else None)
    return json.loads(stdout) if stdout.strip() else {}
