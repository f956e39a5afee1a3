"""awscli run in-process with its own driver: one place for every test that drives `aws ...`.

Each call gets a fresh CLIDriver (awscli's customizations keep per-command state in the driver: a reused one
broke modify-instance-attribute), but all drivers share one botocore data loader. Loading and decoding the
service models was about half of every call (13.6 of 30 s in test_attach_detach[awscli]); the loader's cache is
the one a single session already shares between its clients, so sharing it changes nothing awscli parses.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading
from typing import Any

__all__ = ["run_aws"]

_lock = threading.Lock()
# One loader per AWS_DATA_PATH (a test may put its own models first on it, e.g. test_waiters' fast waiters).
_loaders: dict[str | None, Any] = {}


def _driver() -> Any:
    from awscli.clidriver import create_clidriver

    driver = create_clidriver()
    data_path = os.environ.get("AWS_DATA_PATH")
    if data_path not in _loaders:  # the first driver's loader, with awscli's own data paths
        _loaders[data_path] = driver.session.get_component("data_loader")
    else:
        driver.session.register_component("data_loader", _loaders[data_path])
    return driver


def run_aws(access_key: str, secret_key: str, args: list[str], region: str = "us-east-1") -> tuple[int, str, str]:
    """`aws ARGS` with these keys and no config files; → (exit code, stdout, stderr). Serialised: awscli reads
    its credentials from the process environment."""
    env = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key, "AWS_DEFAULT_REGION": region,
           "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with _lock:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = _driver().main(args)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return rc, out.getvalue(), err.getvalue()
