"""awscli's `s3api` against the real gateway, run in-process through its own driver (as the EC2 tests run
`aws ec2`), so its argument parsing, checksums and output are the real ones. → parsed JSON, or ClientFailure
with the code, message and HTTP status awscli reported."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import threading
from typing import Any

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys

_lock = threading.Lock()


def s3api(server: GatewayServer, keys: Keys, *args: str) -> Any:
    from awscli.clidriver import create_clidriver

    env = {"AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with _lock:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = create_clidriver().main(["s3api", *args, "--endpoint-url", server.url, "--output", "json"])
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    if rc != 0:
        text = err.getvalue().strip()
        found = re.search(r"\((\w+)\)", text)
        status = re.search(r"\b([45]\d\d)\b", text)
        raise ClientFailure(found.group(1) if found else "Unknown", text,
                            int(status.group(1)) if status else None)
    return json.loads(out.getvalue()) if out.getvalue().strip() else {}
