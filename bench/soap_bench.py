"""EC2 SOAP benchmark: DescribeInstances over SOAP (WS-Security signed) against Query, on one ec2soap server.

    python bench/soap_bench.py [--seconds 10] [--instances 50] [--concurrency 1 16]

Starts `ec2soap serve` (embedded simulator) the way bench/ec2_bench.py does and launches N instances for the
admin account (no instance limit). A throwaway RSA key and self-signed certificate are registered for the
admin's access key with the signed SetCertificate Query action. Then, at each concurrency level, both
front doors answer DescribeInstances over all N instances for the same number of seconds:
  query  SigV4-signed form POST to / (botocore's signer), as in ec2_bench.py
  soap   POST to /awsapi/services/AmazonEC2: the envelope zeep builds from our ?wsdl, with a wsu:Timestamp,
         signed for every request with zeep's BinarySignature (xmlsec), as EC2's SOAP clients sign, the key
         loaded once per client thread (SoapSigner)
Both clients use one plain http.client keep-alive connection per thread and read responses without parsing
them. The client runs in this process, not the server's, but shares the machine's cores; so the client-only
cost of producing one signed request of each kind is measured too and printed. Reports req/s, p50/p99
latency and SOAP/Query (target: at least 0.8x, issue 14). Not a test: run by hand.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ec2_bench import REGION, VERSION, Client as QueryClient, Target, launch, start_ours  # noqa: E402
from common import alternating, closed_loop as measure  # noqa: E402

SOAP_PATH = "/awsapi/services/AmazonEC2"
INSTANCE_ID = re.compile(rb"<(?:\w+:)?instanceId>")


def make_identity(directory: Path) -> tuple[Path, Path, str]:
    """(key file, certificate file, certificate PEM): a throwaway RSA-2048 key, self-signed for one day."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec2soap-soap-bench")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_file, cert_file = directory / "bench.key", directory / "bench.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    cert_file.write_text(pem)
    return key_file, cert_file, pem


class SoapTemplate:
    """The unsigned DescribeInstances envelope and its SOAPAction, built once by zeep from our ?wsdl."""

    def __init__(self, target: Target):
        import zeep

        client = zeep.Client(f"http://127.0.0.1:{target.port}{SOAP_PATH}?wsdl")
        self.envelope = client.create_message(client.service, "DescribeInstances", instancesSet={"item": []})
        self.soap_action = client.service._binding._operations["DescribeInstances"].soapaction or ""


class SoapSigner:
    """Per request: a fresh copy of the envelope, a 5-minute wsu:Timestamp, then BinarySignature (xmlsec).

    The key is loaded once per signer, as a long-running client holds it (`key_once`, the default): zeep's own
    BinarySignature.apply loads the PEM key and certificate again for every message, and a key used for the first
    time signs at half speed (OpenSSL's RSA precomputation is kept with the key): 1.6 ms against 0.8 ms per
    envelope on this machine, CPU taken from the server under test on the shared cores. The envelope and its
    signature are the same either way (zeep's own signing function); `--zeep-per-request-key` signs as
    BinarySignature.apply does."""

    key_once = True

    def __init__(self, template: SoapTemplate, key_file: Path, cert_file: Path):
        from zeep.wsse.signature import BinarySignature, _make_sign_key

        self.template = template
        self.signature = BinarySignature(str(key_file), str(cert_file))
        self.key = _make_sign_key(self.signature.key_data, self.signature.cert_data, self.signature.password)

    def _apply(self, envelope: etree._Element) -> None:
        if not self.key_once:
            self.signature.apply(envelope, {})
            return
        # What BinarySignature.apply does, with the key it would load (zeep 4.x).
        from zeep.wsse.signature import _sign_envelope_with_key_binary

        _sign_envelope_with_key_binary(envelope, self.key, self.signature.signature_method,
                                       self.signature.digest_method)

    def sign(self) -> bytes:
        from zeep.wsse import utils

        envelope = copy.deepcopy(self.template.envelope)
        now = datetime.datetime.now(datetime.timezone.utc)
        utils.get_security_header(envelope).append(utils.WSU.Timestamp(
            utils.WSU.Created(utils.get_timestamp(now, zulu_timestamp=True)),
            utils.WSU.Expires(utils.get_timestamp(now + datetime.timedelta(minutes=5), zulu_timestamp=True))))
        self._apply(envelope)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


class SoapClient:
    """One keep-alive connection; each call signs a new envelope and reads the whole answer."""

    def __init__(self, target: Target, signer: SoapSigner):
        self.target, self.signer = target, signer
        self.conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=120)

    def call(self) -> bytes:
        body = self.signer.sign()
        self.conn.request("POST", SOAP_PATH, body=body, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{self.signer.template.soap_action}"'})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"SOAP DescribeInstances: {response.status} {data[:300]!r}")
        return data


def query_signed_body(target: Target) -> tuple[str, dict]:
    """What QueryClient.call does before sending: the form body and SigV4 headers."""
    body = urllib.parse.urlencode({"Action": "DescribeInstances", "Version": VERSION})
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{target.port}/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(target.access_key, target.secret_key), "ec2", REGION).add_auth(request)
    return body, dict(request.headers.items())


def client_only_rate(make: Callable[[], object], seconds: float) -> float:
    """Signed requests one thread produces per second with no server involved."""
    count, stop_at = 0, time.monotonic() + seconds
    began = time.perf_counter()
    while time.monotonic() < stop_at:
        make()
        count += 1
    return count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per measurement")
    parser.add_argument("--zeep-per-request-key", action="store_true",
                        help="the SOAP client loads its key for every request, as zeep's BinarySignature.apply does")
    args = parser.parse_args()
    SoapSigner.key_once = not args.zeep_per_request_key
    workdir = tempfile.mkdtemp(prefix="ec2soap-soap-bench-")
    target = start_ours(workdir)
    results: list[dict] = []
    try:
        launch(target, args.instances)
        key_file, cert_file, pem = make_identity(Path(workdir))
        QueryClient(target).call("SetCertificate", cert=pem)
        template = SoapTemplate(target)

        def query_client() -> Callable[[], object]:
            client = QueryClient(target)
            return lambda: client.call("DescribeInstances")

        def soap_client() -> Callable[[], object]:
            return SoapClient(target, SoapSigner(template, key_file, cert_file)).call

        # Both doors must describe the same instances, or the comparison means nothing.
        query_answer = query_client()().encode("utf-8")
        soap_answer = soap_client()()
        sizes = {"query": len(query_answer), "soap": len(soap_answer)}
        counts = {"query": len(INSTANCE_ID.findall(query_answer)), "soap": len(INSTANCE_ID.findall(soap_answer))}
        print(json.dumps({"instances": counts, "response_bytes": sizes}), flush=True)
        if counts["query"] != counts["soap"] or counts["query"] < args.instances:
            print(f"warning: Query describes {counts['query']} instances, SOAP {counts['soap']}", file=sys.stderr)

        signer = SoapSigner(template, key_file, cert_file)
        client_rates = {"query": client_only_rate(lambda: query_signed_body(target), 2.0),
                        "soap": client_only_rate(signer.sign, 2.0)}
        print(json.dumps({"client_only_signed_requests_per_s": client_rates}), flush=True)

        for concurrency in args.concurrency:
            # Alternating rounds (common.alternating): both doors see the same drift of the machine's speed.
            measured = alternating({door: (lambda seconds, f=factory, c=concurrency: measure(
                f, c, seconds, target.process.pid)) for door, factory in (("query", query_client),
                                                                        ("soap", soap_client))},
                args.seconds, args.rounds)
            for door, row in measured.items():
                row = {"door": door, "concurrency": concurrency, **row}
                results.append(row)
                print(json.dumps(row), flush=True)
    finally:
        target.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    key = "per request (zeep's apply)" if args.zeep_per_request_key else "loaded once per client"
    print(f"\nSOAP client key: {key}; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"DescribeInstances over {counts['query']} instances (Query {sizes['query']} bytes, SOAP {sizes['soap']} "
          f"bytes per response); client alone signs {client_rates['query']:.0f} Query / {client_rates['soap']:.0f} "
          f"SOAP requests/s on one thread")
    print("server CPU = the server process's CPU milliseconds per request")
    print("conc | Query req/s  p50 ms  p99 ms  CPU ms |  SOAP req/s  p50 ms  p99 ms  CPU ms | SOAP/Query (>= 0.8x)")
    for concurrency in args.concurrency:
        query = next(r for r in results if r["door"] == "query" and r["concurrency"] == concurrency)
        soap = next(r for r in results if r["door"] == "soap" and r["concurrency"] == concurrency)
        ratio = soap["rps"] / query["rps"] if query["rps"] else float("nan")
        verdict = "met" if ratio >= 0.8 else "MISSED"
        print(f"{concurrency:4} | {query['rps']:11.1f} {query['p50_ms']:7.1f} {query['p99_ms']:7.1f}"
              f" {query['server_cpu_ms_per_req']:7.1f} | {soap['rps']:11.1f} {soap['p50_ms']:7.1f}"
              f" {soap['p99_ms']:7.1f} {soap['server_cpu_ms_per_req']:7.1f} | {ratio:5.2f}x {verdict}")
    for row in results:
        if row["errors"]:
            print(f"  {row['door']} c{row['concurrency']}: {'; '.join(row['errors'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
