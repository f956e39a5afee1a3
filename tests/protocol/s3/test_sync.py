"""`aws s3 sync` (awscli's own driver, in-process) of a directory tree up to a bucket and back down."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from tests.awscli_run import run_aws
from tests.protocol.conftest import Keys
from tests.protocol.s3.conftest import boto3_client


def aws(server_url: str, keys: Keys, *args: str) -> str:
    rc, stdout, stderr = run_aws(keys.access_key, keys.secret_key, ["s3", *args, "--endpoint-url", server_url])
    assert rc == 0, stderr
    return stdout


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sync_both_ways(gateway_server, new_user, tmp_path: Path) -> None:
    keys = new_user()
    bucket = f"sync-{uuid.uuid4().hex[:12]}"
    boto3_client(gateway_server, keys).create_bucket(Bucket=bucket)
    source = tmp_path / "source"
    files = {"a.txt": b"alpha", "dir/b.bin": os.urandom(300_000), "dir/sub/c with space.txt": b"c",
             "big.bin": os.urandom(9 * 1024 * 1024)}  # past awscli's 8 MiB multipart threshold
    for name, data in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    aws(gateway_server.url, keys, "sync", str(source), f"s3://{bucket}/tree")
    listed = boto3_client(gateway_server, keys).list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"tree/{n}" for n in files)
    back = tmp_path / "back"
    aws(gateway_server.url, keys, "sync", f"s3://{bucket}/tree", str(back))
    assert tree(back) == files
    # A second sync up finds nothing to do; a changed file goes up again.
    assert aws(gateway_server.url, keys, "sync", str(source), f"s3://{bucket}/tree").strip() == ""
    (source / "a.txt").write_bytes(b"alpha, changed")
    assert "upload:" in aws(gateway_server.url, keys, "sync", str(source), f"s3://{bucket}/tree")
    aws(gateway_server.url, keys, "sync", f"s3://{bucket}/tree", str(back))
    assert (back / "a.txt").read_bytes() == b"alpha, changed"
