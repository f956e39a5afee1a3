"""A CloudStack outage, for callers whose secret the gateway has cached and for callers it has never seen:
both get the protocol's own 503 (EC2 Query and SOAP: Unavailable; S3: ServiceUnavailable), never a 500.
The outage is real: the simulator stops listening and the gateway's pooled connections to it are closed, so
every CloudStack call is refused, as when the management server is down."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from ec2soap.config import Settings
from tests.protocol.conftest import EC2Client, GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """This module's own server: the outage must not reach other modules."""
    from ec2soap import server

    settings = Settings(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1, simulator_over_http=True,
                        data_dir=str(tmp_path_factory.mktemp("outage")), simulator_job_seconds=0.2,
                        job_poll_interval=0.05, job_wait=20.0, db_threads=4, cloudstack_timeout=5.0)
    running = in_reactor(server.start, settings, reactor)
    yield GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                        f"http://127.0.0.1:{running.ports['simulator']}/client/api")
    in_reactor(running.stop)
    running.store.close()


class Outage:
    """CloudStack down (the simulator's port closed) until restore()."""

    def __init__(self, server: GatewayServer, reactor: Any, in_reactor: Callable[..., Any]):
        self.server, self.reactor, self.in_reactor = server, reactor, in_reactor
        running = server.running
        self.port = running.ports["simulator"]
        self.listener = next(p for p in running.listeners if p.getHost().port == self.port)

    def begin(self) -> None:
        running = self.server.running
        self.in_reactor(self.listener.stopListening)
        running.listeners.remove(self.listener)
        self.in_reactor(running.cloud_factory.close)  # the pooled keep-alive connections go too

    def restore(self) -> None:
        factory = self.listener.factory
        self.listener = self.in_reactor(lambda: self.reactor.listenTCP(self.port, factory, interface="127.0.0.1"))
        self.server.running.listeners.append(self.listener)


def test_every_door_answers_503_during_an_outage_cached_or_not(gateway_server: GatewayServer,
                                                               new_user: Callable[[], Keys], reactor: Any,
                                                               in_reactor: Callable[..., Any],
                                                               tmp_path: Path) -> None:
    from tests.protocol.soap.conftest import SoapClient, SoapFailure, make_certificate

    cached, fresh = new_user(), new_user()
    soap_keys = new_user()
    key_file, cert_file, pem = make_certificate(tmp_path, soap_keys.account)
    credentials = gateway_server.running.credentials
    in_reactor(credentials.register, soap_keys.access_key, soap_keys.secret_key)
    assert in_reactor(credentials.set_certificate, soap_keys.access_key, pem)
    soap = SoapClient("ours", gateway_server, soap_keys, key_file, cert_file)

    ec2 = {kind: {who: EC2Client(kind, gateway_server, keys) for who, keys in (("cached", cached),
                                                                                ("fresh", fresh))}
           for kind in ("boto3", "awscli")}
    # The cached caller has been seen by every door (its secret is cached); the fresh one never.
    ec2["boto3"]["cached"].client.describe_key_pairs()
    s3_cached = boto3_client(gateway_server, cached)
    bucket = f"outage-{uuid.uuid4().hex[:8]}"
    s3_cached.create_bucket(Bucket=bucket)
    zones = soap.call("DescribeAvailabilityZones", availabilityZoneSet={"item": []})
    assert zones.availabilityZoneInfo.item  # SOAP answers before the outage

    outage = Outage(gateway_server, reactor, in_reactor)
    outage.begin()
    try:
        for kind, clients in ec2.items():
            for who, client in clients.items():
                with client.failure() as failure:
                    if kind == "boto3":
                        client.client.describe_key_pairs()
                    else:
                        client.cli("describe-key-pairs")
                assert failure.value.code == "Unavailable", (kind, who, failure.value)
                if kind == "boto3":
                    assert failure.value.status == 503, (who, failure.value)
        # The raw answer: EC2's error document with a 503, for both callers.
        for keys in (cached, fresh):
            raw = _signed_describe(gateway_server, keys)
            assert raw.status_code == 503 and b"<Code>Unavailable</Code>" in raw.content, raw.content

        # SOAP: the registered caller's certificate is in our store; its action needs CloudStack (not zones,
        # which the gateway may answer for a few seconds from its short cache of listZones).
        with pytest.raises(SoapFailure) as fault:
            soap.call("DescribeKeyPairs", keySet={"item": []})
        assert fault.value.faultcode.endswith("Unavailable"), fault.value

        # S3: the fresh caller cannot be told from a stranger without CloudStack: ServiceUnavailable, 503,
        # through boto3 and boto 2; the cached one is served from the gateway's own store.
        s3_fresh = boto3_client(gateway_server, fresh)
        with pytest.raises(Exception) as refused:
            s3_fresh.list_buckets()
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        from boto.exception import BotoServerError

        with pytest.raises(BotoServerError) as old_client:
            boto2_connection(gateway_server, fresh).get_all_buckets()
        assert (old_client.value.status, old_client.value.error_code) == (503, "ServiceUnavailable")
        # A streamed upload is refused the same way, before its body is read.
        with pytest.raises(Exception) as refused:
            s3_fresh.put_object(Bucket=bucket, Key="upload", Body=b"x" * 100_000)
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert [b["Name"] for b in s3_cached.list_buckets()["Buckets"]] == [bucket]
        s3_cached.put_object(Bucket=bucket, Key="kept", Body=b"written during the outage")
    finally:
        outage.restore()
    # Back: the fresh caller is known at once (a failed lookup is not remembered as "no such key").
    assert ec2["boto3"]["fresh"].client.describe_key_pairs()["KeyPairs"] == []
    assert boto3_client(gateway_server, fresh).list_buckets()["Buckets"] == []
    assert s3_cached.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"written during the outage"


def _signed_describe(server: GatewayServer, keys: Keys) -> Any:
    """DescribeKeyPairs signed by botocore (SigV4), sent with requests: the raw status and body."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = "Action=DescribeKeyPairs&Version=2016-11-15"
    request = AWSRequest(method="POST", url=server.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "ec2", "cloudstack").add_auth(request)
    return requests.post(server.url + "/", data=body, headers=dict(request.headers), timeout=60)
