"""HTTP and document limits over raw sockets and real clients against the real server: every over-limit request
gets an answer in its door's own format (S3 <Error>, EC2 <Response><Errors>, a SOAP fault), then the
connection closes; deep JSON and XML bodies are the protocol's malformed-document errors, never a 5xx."""
from __future__ import annotations

import socket
import time
from typing import Any, Callable

import pytest
from lxml import etree

from ec2soap import http as gateway_http
from tests.protocol.conftest import GatewayServer, Keys

SOAP_PATH = "/awsapi/services/AmazonEC2"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _exchange(server: GatewayServer, head: bytes, body: bytes = b"", *, wait_before_body: float = 0.0,
              timeout: float = 20.0) -> tuple[int, dict[str, str], bytes, bool]:
    """Send HEAD (and BODY) on a fresh connection; → (status, headers, body, closed by the server)."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        if wait_before_body:
            time.sleep(wait_before_body)
        if body:
            try:
                sock.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may have answered and stopped reading; its answer is still to be read
        data = b""
        closed = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            data += chunk
            if _complete(data):
                # Give the server a moment to close; a kept-alive connection would stay open.
                sock.settimeout(3.0)
    assert data, "no answer at all"
    head_text, _, rest = data.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        return status, headers, _dechunk(rest), closed
    length = int(headers.get("content-length", len(rest)))
    return status, headers, rest[:length], closed


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2:]


def _complete(data: bytes) -> bool:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    if b"\r\ntransfer-encoding: chunked" in head.lower():
        return rest.endswith(b"0\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def _request(method: str, target: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _s3_code(body: bytes) -> str:
    root = etree.fromstring(body)
    assert root.tag == "Error"
    return root.findtext("Code")


def _ec2_code(body: bytes) -> str:
    return etree.fromstring(body).findtext("Errors/Error/Code")


def _fault_code(body: bytes) -> str:
    return etree.fromstring(body).findtext(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/faultcode")


LONG = "x" * (gateway_http.MAX_REQUEST_LINE + 100)


@pytest.mark.parametrize("target,kind", [(f"/bucket/{LONG}", "s3"), (f"/?Action=DescribeRegions&p={LONG}", "ec2"),
                                         (f"/awsapi/rest/AmazonEC2?x={LONG}", "ec2"), (f"{SOAP_PATH}?{LONG}", "soap"),
                                         (f"/awsapi/rest/AmazonS3/b/{LONG}", "s3")])
def test_request_line_over_the_limit_is_414_in_the_doors_format(gateway_server: GatewayServer, target: str,
                                                                 kind: str) -> None:
    status, headers, body, closed = _exchange(gateway_server, _request("GET", target))
    assert status == 414 and closed and headers["connection"] == "close"
    if kind == "s3":
        assert _s3_code(body) == "InvalidURI"
    elif kind == "ec2":
        assert _ec2_code(body) == "InvalidRequest"
    else:
        assert _fault_code(body) == "soapenv:Client.InvalidRequest"


def test_a_header_line_over_the_limit_is_431(gateway_server: GatewayServer) -> None:
    status, _, body, closed = _exchange(gateway_server, _request("GET", "/bucket/key", {"X-Big": LONG}))
    assert status == 431 and closed
    assert _s3_code(body) == "RequestHeaderSectionTooLarge"
    status, _, body, closed = _exchange(gateway_server, _request("GET", "/?Action=DescribeRegions",
                                                                 {"X-Big": LONG}))
    assert status == 431 and closed and _ec2_code(body) == "InvalidRequest"


def test_headers_over_the_total_limit_or_count_are_431(gateway_server: GatewayServer) -> None:
    piece = "y" * (gateway_http.MAX_REQUEST_LINE - 100)
    many = {f"X-H{i}": piece for i in range(gateway_http.MAX_HEADER_BYTES // len(piece) + 1)}
    status, _, body, closed = _exchange(gateway_server, _request("GET", "/bucket/key", many))
    assert status == 431 and closed and _s3_code(body) == "RequestHeaderSectionTooLarge"
    count = {f"X-N{i}": "1" for i in range(gateway_http.MAX_HEADERS + 1)}
    status, _, body, closed = _exchange(gateway_server, _request("POST", SOAP_PATH, count))
    assert status == 431 and closed and _fault_code(body) == "soapenv:Client.InvalidRequest"


def test_a_request_just_under_the_limits_is_served(gateway_server: GatewayServer) -> None:
    target = "/?Action=DescribeRegions&p=" + "x" * (gateway_http.MAX_REQUEST_LINE - 200)
    status, _, body, _ = _exchange(gateway_server, _request("GET", target, {"X-Pad": "z" * 8000,
                                                                        "Connection": "close"}))
    assert status in (400, 401, 403) and _ec2_code(body)  # unsigned: EC2's own refusal, not a limit


def test_an_oversized_soap_body_is_refused_from_its_content_length_before_100_continue(
        gateway_server: GatewayServer) -> None:
    size = gateway_http.MAX_BODY_BYTES + 1
    head = _request("POST", SOAP_PATH, {"Content-Type": "text/xml", "Content-Length": str(size),
                                        "Expect": "100-continue"})
    status, _, body, closed = _exchange(gateway_server, head)
    assert status == 413 and closed
    assert _fault_code(body) == "soapenv:Client.InvalidRequest"
    # Sent anyway, the body is read and dropped: the answer still arrives.
    status, _, body, closed = _exchange(gateway_server, _request("POST", SOAP_PATH, {
        "Content-Type": "text/xml", "Content-Length": str(size)}), b"<" * size)
    assert status == 413 and closed and _fault_code(body) == "soapenv:Client.InvalidRequest"


def test_an_oversized_chunked_soap_body_is_refused_while_it_is_read(gateway_server: GatewayServer) -> None:
    chunk = b"a" * 65536
    framed = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (gateway_http.MAX_BODY_BYTES // len(chunk) + 2) + b"0\r\n\r\n"
    head = _request("POST", SOAP_PATH, {"Content-Type": "text/xml", "Transfer-Encoding": "chunked"})
    status, _, body, closed = _exchange(gateway_server, head, framed)
    assert status == 413 and closed and _fault_code(body) == "soapenv:Client.InvalidRequest"


def test_an_oversized_query_form_is_413_with_an_ec2_error(gateway_server: GatewayServer) -> None:
    head = _request("POST", "/", {"Content-Type": "application/x-www-form-urlencoded",
                                  "Content-Length": str(gateway_http.MAX_BODY_BYTES + 1)})
    status, _, body, closed = _exchange(gateway_server, head)
    assert status == 413 and closed and _ec2_code(body) == "InvalidRequest"


def test_a_small_chunked_soap_body_still_reaches_the_soap_door(gateway_server: GatewayServer) -> None:
    envelope = f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body><x/></e:Body></e:Envelope>'.encode()
    framed = b"%x\r\n" % len(envelope) + envelope + b"\r\n0\r\n\r\n"
    head = _request("POST", SOAP_PATH, {"Content-Type": "text/xml", "Transfer-Encoding": "chunked",
                                        "Connection": "close"})
    status, _, body, _ = _exchange(gateway_server, head, framed)
    assert status == 500 and _fault_code(body) == "soapenv:Client.AuthFailure"  # unsigned, not over a limit


def test_a_deep_soap_envelope_is_a_client_fault(gateway_server: GatewayServer) -> None:
    envelope = (f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body>' + "<x>" * 10_000 + "</x>" * 10_000
                + "</e:Body></e:Envelope>").encode()
    head = _request("POST", SOAP_PATH, {"Content-Type": "text/xml", "Content-Length": str(len(envelope)),
                                        "Connection": "close"})
    status, _, body, _ = _exchange(gateway_server, head, envelope)
    assert status == 500 and _fault_code(body) == "soapenv:Client.InvalidRequest"


def _s3(server: GatewayServer, keys: Keys) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key,
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1},
                                      s3={"addressing_style": "path"}))


def test_deep_s3_documents_are_the_malformed_errors_of_s3(gateway_server: GatewayServer,
                                                          new_user: Callable[[], Keys]) -> None:
    from botocore.exceptions import ClientError

    keys = new_user()
    s3 = _s3(gateway_server, keys)
    bucket = "deep-" + keys.account.lower()
    s3.create_bucket(Bucket=bucket)
    policy = '{"Version": "2012-10-17", "Statement": ' + "[" * 10_000 + "]" * 10_000 + "}"
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert caught.value.response["Error"]["Code"] == "MalformedPolicy"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    from tests.protocol.test_wellformed import _signed_s3

    deep = "<x>" * 10_000 + "</x>" * 10_000
    for query, root, code in [("acl", "AccessControlPolicy", "MalformedACLError"),
                              ("cors", "CORSConfiguration", "MalformedXML"),
                              ("versioning", "VersioningConfiguration", "MalformedXML")]:
        body = f"<{root}>{deep}</{root}>".encode()
        response = _signed_s3(gateway_server, keys, "PUT", f"/{bucket}", query, body)
        assert response.status_code == 400 and _s3_code(response.content) == code, (query, response.content)
    response = _signed_s3(gateway_server, keys, "POST", f"/{bucket}", "delete",
                          f"<Delete>{deep}</Delete>".encode(), {"Content-MD5": _md5(f"<Delete>{deep}</Delete>")})
    assert response.status_code == 400 and _s3_code(response.content) == "MalformedXML", response.content
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    response = _signed_s3(gateway_server, keys, "POST", f"/{bucket}/k", f"uploadId={upload}",
                          f"<CompleteMultipartUpload>{deep}</CompleteMultipartUpload>".encode())
    assert response.status_code == 400 and _s3_code(response.content) == "MalformedXML", response.content


def _md5(text: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.md5(text.encode()).digest()).decode()


def test_an_oversized_s3_document_is_refused_but_object_data_is_not_limited(gateway_server: GatewayServer) -> None:
    size = str(gateway_http.MAX_BODY_BYTES + 1)
    for method, target in [("PUT", "/bucket?acl"), ("PUT", "/bucket/key?acl"), ("POST", "/bucket?delete"),
                           ("POST", "/bucket/key?uploadId=abc"), ("PUT", "/awsapi/rest/AmazonS3/bucket?policy")]:
        head = _request(method, target, {"Content-Length": size, "Expect": "100-continue"})
        status, _, body, closed = _exchange(gateway_server, head)
        assert status == 413 and closed and _s3_code(body) == "MaxMessageLengthExceeded", (method, target)
    # An object upload of the same size streams: it is refused for its missing signature, not its size.
    head = _request("PUT", "/bucket/key", {"Content-Length": size, "Expect": "100-continue"})
    status, _, body, _ = _exchange(gateway_server, head)
    assert 400 <= status < 500 and status != 413 and _s3_code(body) != "MaxMessageLengthExceeded"


@pytest.fixture(scope="module")
def tls_gateway(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Any:
    from ec2soap import server
    from ec2soap.config import Settings
    from tests.system.certs import make_pki

    pki = make_pki(tmp_path_factory.mktemp("limits-pki"))
    settings = Settings(host="127.0.0.1", port=-1, tls_port=0, tls_cert=str(pki.cert), tls_key=str(pki.key),
                        simulator_port=0, integration_port=-1, data_dir=str(tmp_path_factory.mktemp("limits-tls")),
                        db_threads=2)
    running = in_reactor(server.start, settings, reactor)
    yield running.ports["gateway_tls"], pki.ca
    in_reactor(running.stop)
    running.store.close()


def _tls_exchange(port: int, ca: Any, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    import ssl

    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(head)
            if body:
                try:
                    sock.sendall(body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass
            data = b""
            while not _complete(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    head_text, _, rest = data.partition(b"\r\n\r\n")
    return int(head_text.split(b" ")[1]), rest


def test_limits_are_answered_over_https_too(tls_gateway: Any) -> None:
    port, ca = tls_gateway
    status, body = _tls_exchange(port, ca, _request("GET", f"/bucket/{LONG}"))
    assert status == 414 and _s3_code(body) == "InvalidURI"
    size = gateway_http.MAX_BODY_BYTES + 1
    status, body = _tls_exchange(port, ca, _request("POST", SOAP_PATH, {"Content-Type": "text/xml",
                                                                        "Content-Length": str(size)}), b"<" * size)
    assert status == 413 and _fault_code(body) == "soapenv:Client.InvalidRequest"
