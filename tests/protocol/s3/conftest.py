"""S3 clients against the real gateway: boto3 (SigV4, path and virtual-host addressing), boto 2.49 (SigV2 at
/awsapi/rest/AmazonS3, the seed's example) and s3cmd (a subprocess, SigV2 and SigV4). Each facade offers the
same few calls so one scenario runs through every client; failures become ClientFailure(code, status).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import database_urls, engine_url
from tests.protocol.conftest import ClientFailure, GatewayServer, Keys, serve_gateway

S3_CLIENTS = ["boto3", "boto3-vhost", "boto2", "s3cmd-v2", "s3cmd-v4"]
_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(scope="session", autouse=True)
def localhost_subdomains() -> Iterator[None]:
    """*.localhost → 127.0.0.1 (RFC 6761 §6.3), which this machine's resolver does not do, so virtual-host
    buckets (bucket.localhost:port) reach the server."""
    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return _real_getaddrinfo(host, *args, **kwargs)
    socket.getaddrinfo = resolve
    yield
    socket.getaddrinfo = _real_getaddrinfo


def boto3_client(server: GatewayServer, keys: Keys, *, virtual: bool = False, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    port = int(server.url.rsplit(":", 1)[1])
    endpoint = f"http://localhost:{port}" if virtual else server.url
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key,
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1},
                                      s3={"addressing_style": "virtual" if virtual else "path"}, **config))


def boto2_connection(server: GatewayServer, keys: Keys, path: str = "/awsapi/rest/AmazonS3") -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import boto.s3.connection
    port = int(server.url.rsplit(":", 1)[1])
    conn = boto.s3.connection.S3Connection(keys.access_key, keys.secret_key, host="127.0.0.1", port=port,
                                           is_secure=False, path=path,
                                           calling_format=boto.s3.connection.OrdinaryCallingFormat())
    conn.num_retries = 0
    return conn


def boto2_post_connection(server: GatewayServer, keys: Keys) -> Any:
    """A boto 2 connection (path "/") whose build_post_form_args works on Python 3: boto 2.49 there base64-encodes
    the policy as a str and signs bytes, its own bugs, shimmed at the edges only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conn = boto2_connection(server, keys, path="/")
    build, sign = conn.build_post_policy, conn._auth_handler.sign_string
    conn.build_post_policy = lambda *a: build(*a).encode()
    conn._auth_handler.sign_string = lambda s: sign(s.decode() if isinstance(s, bytes) else s)
    return conn


def translate(exc: Exception) -> ClientFailure:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return ClientFailure(response["Error"].get("Code", ""), response["Error"].get("Message", ""),
                             response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    if hasattr(exc, "error_code") and hasattr(exc, "status"):  # boto 2 S3ResponseError
        return ClientFailure(exc.error_code or str(exc.status), getattr(exc, "error_message", "") or "",
                             exc.status)
    raise exc


def failure_of(fn: Callable[[], Any]) -> ClientFailure:
    """What calling FN failed with, as a ClientFailure (from any client's exception); AssertionError if it
    did not fail."""
    try:
        fn()
    except ClientFailure as exc:
        return exc
    except Exception as exc:
        return translate(exc)
    raise AssertionError("the call did not fail")


class S3Client:
    """One client of KIND with one user's keys; methods take and return plain Python values."""

    def __init__(self, kind: str, server: GatewayServer, keys: Keys, tmp: Path):
        self.kind, self.server, self.keys, self.tmp = kind, server, keys, tmp
        if kind.startswith("boto3"):
            self.client = boto3_client(server, keys, virtual=kind == "boto3-vhost")
        elif kind == "boto2":
            self.conn = boto2_connection(server, keys)
        else:
            port = int(server.url.rsplit(":", 1)[1])
            self.config = tmp / f"s3cfg-{kind}-{keys.access_key[:8]}"
            self.config.write_text(
                "[default]\n"
                f"access_key = {keys.access_key}\nsecret_key = {keys.secret_key}\n"
                f"host_base = 127.0.0.1:{port}\nhost_bucket = 127.0.0.1:{port}\n"
                "use_https = False\ncheck_ssl_certificate = False\n"
                f"signature_v2 = {'True' if kind == 's3cmd-v2' else 'False'}\n"
                "bucket_location = us-east-1\nguess_mime_type = False\nprogress_meter = False\n"
                "multipart_chunk_size_mb = 5\n")

    # -- s3cmd ------------------------------------------------------------------------------------------------

    def s3cmd(self, *args: str) -> str:
        exe = Path(sys.executable).parent / "s3cmd"
        done = subprocess.run([str(exe), "-c", str(self.config), "--no-progress", *args], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            text = (done.stderr + done.stdout).strip()
            found = re.search(r"S3 error: (\d{3}) \((\w+)\)", text)
            if found:
                status, code = int(found.group(1)), found.group(2)
                # A HEAD answer has no document: s3cmd shows the reason phrase instead of the code.
                code = {"Forbidden": "AccessDenied", "Not Found": "NoSuchKey"}.get(code, code)
                raise ClientFailure(code, text, status)
            if "does not exist" in text:
                raise ClientFailure("NoSuchKey", text, 404)
            raise ClientFailure("Unknown", text)
        return done.stdout

    def _file(self, data: bytes) -> Path:
        path = self.tmp / f"upload-{os.getpid()}-{id(data)}"
        path.write_bytes(data)
        return path

    # -- the facade -------------------------------------------------------------------------------------------

    def call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ClientFailure:
            raise
        except Exception as exc:
            raise translate(exc) from None

    def make_bucket(self, name: str) -> None:
        if self.kind.startswith("boto3"):
            self.call(lambda: self.client.create_bucket(Bucket=name))
        elif self.kind == "boto2":
            self.call(lambda: self.conn.create_bucket(name))
        else:
            self.s3cmd("mb", f"s3://{name}")

    def buckets(self) -> list[str]:
        if self.kind.startswith("boto3"):
            return [b["Name"] for b in self.call(self.client.list_buckets)["Buckets"]]
        if self.kind == "boto2":
            return [b.name for b in self.call(self.conn.get_all_buckets)]
        return [line.split("s3://", 1)[1].strip() for line in self.s3cmd("ls").splitlines() if "s3://" in line]

    def put(self, bucket: str, key: str, data: bytes, content_type: str | None = None,
            meta: dict | None = None) -> None:
        meta = meta or {}
        if self.kind.startswith("boto3"):
            extra: dict = {"Metadata": meta}
            if content_type:
                extra["ContentType"] = content_type
            self.call(lambda: self.client.put_object(Bucket=bucket, Key=key, Body=data, **extra))
        elif self.kind == "boto2":
            def put() -> None:
                k = self.conn.get_bucket(bucket, validate=False).new_key(key)
                for name, value in meta.items():
                    k.set_metadata(name, value)
                headers = {"Content-Type": content_type} if content_type else None
                k.set_contents_from_string(data, headers=headers)
            self.call(put)
        else:
            args = ["put", "--no-preserve", str(self._file(data)), f"s3://{bucket}/{key}"]
            if content_type:
                args[1:1] = ["--mime-type", content_type]
            for name, value in meta.items():
                args[1:1] = ["--add-header", f"x-amz-meta-{name}:{value}"]
            self.s3cmd(*args)

    def get(self, bucket: str, key: str) -> bytes:
        if self.kind.startswith("boto3"):
            return self.call(lambda: self.client.get_object(Bucket=bucket, Key=key)["Body"].read())
        if self.kind == "boto2":
            return self.call(lambda: self.conn.get_bucket(bucket, validate=False).get_key(
                key, validate=False).get_contents_as_string())
        out = self.tmp / f"download-{os.getpid()}"
        self.s3cmd("get", "--force", f"s3://{bucket}/{key}", str(out))
        return out.read_bytes()

    def info(self, bucket: str, key: str) -> dict:
        """Content type and user metadata of an object."""
        if self.kind.startswith("boto3"):
            r = self.call(lambda: self.client.head_object(Bucket=bucket, Key=key))
            return {"type": r["ContentType"], "meta": r["Metadata"], "size": r["ContentLength"]}
        if self.kind == "boto2":
            k = self.call(lambda: self.conn.get_bucket(bucket, validate=False).get_key(key))
            if k is None:
                raise ClientFailure("NoSuchKey", "", 404)
            return {"type": k.content_type, "meta": k.metadata, "size": k.size}
        text = self.s3cmd("info", f"s3://{bucket}/{key}")
        fields = {}
        for line in text.splitlines():
            name, _, value = line.strip().partition(":")
            fields[name.strip()] = value.strip()
        # s3cmd keeps its own x-amz-meta-s3cmd-attrs (the MD5) on every object it uploads.
        meta = {k[len("x-amz-meta-"):]: v for k, v in fields.items()
                if k.startswith("x-amz-meta-") and k != "x-amz-meta-s3cmd-attrs"}
        return {"type": fields.get("MIME type"), "meta": meta, "size": int(fields.get("File size", "0"))}

    def keys_of(self, bucket: str, prefix: str = "") -> list[str]:
        if self.kind.startswith("boto3"):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return self.call(lambda: [o["Key"] for page in pages for o in page.get("Contents", [])])
        if self.kind == "boto2":
            return self.call(lambda: [k.name for k in self.conn.get_bucket(bucket, validate=False).list(prefix)])
        out = self.s3cmd("ls", "--recursive", f"s3://{bucket}/{prefix}")
        return [line.split(f"s3://{bucket}/", 1)[1] for line in out.splitlines() if f"s3://{bucket}/" in line]

    def delete(self, bucket: str, key: str) -> None:
        if self.kind.startswith("boto3"):
            self.call(lambda: self.client.delete_object(Bucket=bucket, Key=key))
        elif self.kind == "boto2":
            self.call(lambda: self.conn.get_bucket(bucket, validate=False).delete_key(key))
        else:
            self.s3cmd("del", f"s3://{bucket}/{key}")

    def delete_bucket(self, name: str) -> None:
        if self.kind.startswith("boto3"):
            self.call(lambda: self.client.delete_bucket(Bucket=name))
        elif self.kind == "boto2":
            self.call(lambda: self.conn.delete_bucket(name))
        else:
            self.s3cmd("rb", f"s3://{name}")

    def copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> None:
        if self.kind.startswith("boto3"):
            self.call(lambda: self.client.copy_object(Bucket=dest_bucket, Key=dest_key,
                                                      CopySource={"Bucket": bucket, "Key": key}))
        elif self.kind == "boto2":
            self.call(lambda: self.conn.get_bucket(dest_bucket, validate=False).copy_key(dest_key, bucket, key))
        else:
            self.s3cmd("cp", f"s3://{bucket}/{key}", f"s3://{dest_bucket}/{dest_key}")

    def set_public_read(self, bucket: str, key: str) -> None:
        if self.kind.startswith("boto3"):
            self.call(lambda: self.client.put_object_acl(Bucket=bucket, Key=key, ACL="public-read"))
        elif self.kind == "boto2":
            self.call(lambda: self.conn.get_bucket(bucket, validate=False).get_key(key, validate=False)
                      .set_acl("public-read"))
        else:
            self.s3cmd("setacl", "--acl-public", f"s3://{bucket}/{key}")


@pytest.fixture(params=S3_CLIENTS)
def s3(request: Any, gateway_server: GatewayServer, new_user: Callable[[], Keys], tmp_path: Path) -> S3Client:
    """An S3 client of each kind, each with a fresh user."""
    if request.param == "boto2":
        pytest.importorskip("boto", reason="boto 2 is not installed")
    if request.param.startswith("s3cmd") and not (Path(sys.executable).parent / "s3cmd").exists():
        pytest.skip("s3cmd is not installed")
    return S3Client(request.param, gateway_server, new_user(), tmp_path)


@pytest.fixture
def s3_of(gateway_server: GatewayServer, tmp_path: Path) -> Callable[[str, Keys], S3Client]:
    return lambda kind, keys: S3Client(kind, gateway_server, keys, tmp_path)


@pytest.fixture
def boto3_s3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> Any:
    return boto3_client(gateway_server, new_user())


@pytest.fixture(scope="module", params=database_urls())
def db_server(request: Any, tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]
              ) -> Iterator[GatewayServer]:
    """The real server on a fresh database of each engine (SQLite, and PostgreSQL and MariaDB when their URLs
    are set): one per module that asks, for the tests where concurrency on every database matters."""
    drops: list = []
    url = engine_url(request.param, tmp_path_factory.mktemp(f"db-{request.param}"), drops.append)
    try:
        yield from serve_gateway(tmp_path_factory, reactor, in_reactor, name=f"gw-{request.param}", database_url=url)
    finally:
        for drop in drops:
            drop()
