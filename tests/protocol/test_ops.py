"""Running it as a service, against the real server: CloudStack's enable.ec2.api / enable.s3.api switches (read
without restart, overridden by our config), SetOfferMapping / DeleteOfferMapping (root admins only, used by
RunInstances), /metrics and /health, and the one log line per request (with no secret in it)."""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from lxml import etree

from ec2soap.config import Settings
from tests.protocol.conftest import REGION, GatewayServer, Keys

REFRESH = 0.2


def _start(tmp_path_factory: Any, in_reactor: Callable[..., Any], reactor: Any, **overrides: Any) -> GatewayServer:
    from ec2soap import server

    settings = Settings(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1,
                        data_dir=str(tmp_path_factory.mktemp("ops")), simulator_job_seconds=0.2,
                        simulator_expunge_seconds=2.0, job_poll_interval=0.05, job_wait=20.0, db_threads=4,
                        switch_refresh=REFRESH, **overrides)
    running = in_reactor(server.start, settings, reactor)
    return GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                         f"http://127.0.0.1:{running.ports.get('simulator')}/client/api")


def _stop(gateway: GatewayServer, in_reactor: Callable[..., Any]) -> None:
    in_reactor(gateway.running.stop)
    gateway.running.store.close()


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """This module's own server: switches re-read every REFRESH seconds."""
    gateway = _start(tmp_path_factory, in_reactor, reactor)
    yield gateway
    _stop(gateway, in_reactor)


def admin_keys(server: GatewayServer) -> Keys:
    admin = server.running.admin_user
    return Keys(admin["apikey"], admin["secretkey"], "admin")


def boto3_ec2(server: GatewayServer, keys: Keys) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("ec2", endpoint_url=server.url, region_name=REGION, aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key, config=Config(retries={"max_attempts": 1}))


def signed_query(server: GatewayServer, keys: Keys | None, action: str, **params: str) -> requests.Response:
    """A POST form signed with SigV2 (HmacSHA256) by botocore, for the original's own actions."""
    from botocore.auth import SigV2Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=server.url + "/awsapi",
                         data={"Action": action, "Version": "2012-08-15", **params},
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if keys is not None:
        SigV2Auth(Credentials(keys.access_key, keys.secret_key)).add_auth(request)
    prepared = request.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=30)


def error_code(response: requests.Response) -> str | None:
    return etree.fromstring(response.content).findtext("Errors/Error/Code")


def set_cloudstack(server: GatewayServer, name: str, value: str) -> None:
    status, body = server.cloudstack("admin", "updateConfiguration", name=name, value=value)
    assert status == 200, body


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def ec2_code(client: Any) -> str:
    """'OK' when DescribeKeyPairs works, else the EC2 error code boto3 parsed."""
    from botocore.exceptions import ClientError

    try:
        client.describe_key_pairs()
    except ClientError as exc:
        return exc.response["Error"]["Code"] + f"/{exc.response['ResponseMetadata']['HTTPStatusCode']}"
    return "OK"


def s3_code(server: GatewayServer, keys: Keys) -> str:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", endpoint_url=server.url, region_name=REGION, aws_access_key_id=keys.access_key,
                      aws_secret_access_key=keys.secret_key,
                      config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    try:
        s3.list_buckets()
    except ClientError as exc:
        return exc.response["Error"]["Code"] + f"/{exc.response['ResponseMetadata']['HTTPStatusCode']}"
    return "OK"


# -- switches ---------------------------------------------------------------------------------------------------

def test_enable_ec2_api_in_cloudstack_switches_ec2_off_and_on_without_restart(gateway_server: GatewayServer,
                                                                             new_user: Any) -> None:
    keys = new_user()
    client = boto3_ec2(gateway_server, keys)
    assert ec2_code(client) == "OK"
    set_cloudstack(gateway_server, "enable.ec2.api", "false")
    try:
        eventually(lambda: ec2_code(client) != "OK")
        assert ec2_code(client) == "Unavailable/503"
        # Every EC2 Query door answers in EC2's format; S3 keeps working.
        assert error_code(signed_query(gateway_server, keys, "DescribeKeyPairs")) == "Unavailable"
        soap = requests.post(gateway_server.url + "/awsapi/services/AmazonEC2", data=b"<Envelope/>", timeout=30,
                             headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "DescribeKeyPairs"})
        assert soap.status_code == 500 and b"Unavailable" in soap.content and b"Fault" in soap.content
        assert s3_code(gateway_server, keys) == "OK"
        health = requests.get(gateway_server.url + "/health", timeout=30).json()
        assert health["services"]["ec2"] == {"enabled": False, "source": "cloudstack"}
    finally:
        set_cloudstack(gateway_server, "enable.ec2.api", "true")
    eventually(lambda: ec2_code(client) == "OK")


def test_enable_s3_api_switches_s3_off_in_its_own_format_and_ec2_keeps_working(gateway_server: GatewayServer,
                                                                              new_user: Any) -> None:
    keys = new_user()
    set_cloudstack(gateway_server, "enable.s3.api", "false")
    try:
        eventually(lambda: s3_code(gateway_server, keys) != "OK")
        assert s3_code(gateway_server, keys) == "ServiceUnavailable/503"
        assert ec2_code(boto3_ec2(gateway_server, keys)) == "OK"
    finally:
        set_cloudstack(gateway_server, "enable.s3.api", "true")
    eventually(lambda: s3_code(gateway_server, keys) == "OK")


def test_our_config_overrides_cloudstack(tmp_path_factory: Any, reactor: Any,
                                         in_reactor: Callable[..., Any]) -> None:
    gateway = _start(tmp_path_factory, in_reactor, reactor, enable_ec2=True, enable_s3=False)
    try:
        demo = gateway.running.demo_user
        keys = Keys(demo["apikey"], demo["secretkey"], "demo")
        set_cloudstack(gateway, "enable.ec2.api", "false")
        set_cloudstack(gateway, "enable.s3.api", "true")
        time.sleep(REFRESH * 5)  # several refreshes: CloudStack's values are read, and lose
        assert ec2_code(boto3_ec2(gateway, keys)) == "OK"
        assert s3_code(gateway, keys) == "ServiceUnavailable/503"
        services = requests.get(gateway.url + "/health", timeout=30).json()["services"]
        assert services == {"ec2": {"enabled": True, "source": "config"}, "s3": {"enabled": False, "source": "config"}}
    finally:
        _stop(gateway, in_reactor)


# -- SetOfferMapping / DeleteOfferMapping -----------------------------------------------------------------------

def test_offer_mapping_is_for_root_admins_only(gateway_server: GatewayServer, new_user: Any,
                                               in_reactor: Callable[..., Any]) -> None:
    user = new_user()
    for action, params in (("SetOfferMapping", {"amazonoffer": "m1.small", "cloudoffer": "m1.large"}),
                           ("DeleteOfferMapping", {"amazonoffer": "m1.small"})):
        response = signed_query(gateway_server, user, action, **params)
        assert response.status_code == 403, response.text
        assert error_code(response) == "AuthFailure"
        assert "Permission denied for non-admin user" in response.text
    # Unsigned or badly signed: not even asked.
    assert signed_query(gateway_server, None, "SetOfferMapping", amazonoffer="a", cloudoffer="b").status_code in (
        400, 401, 403)
    wrong = Keys(user.access_key, "not-the-secret", user.account)
    assert error_code(signed_query(gateway_server, wrong, "DeleteOfferMapping", amazonoffer="a")) in (
        "AuthFailure", "SignatureDoesNotMatch")
    assert in_reactor(gateway_server.running.gateway.offerings.mapping) == {}


def test_offer_mapping_checks_its_parameters(gateway_server: GatewayServer) -> None:
    admin = admin_keys(gateway_server)
    missing = signed_query(gateway_server, admin, "SetOfferMapping", amazonoffer="m1.small")
    assert (missing.status_code, error_code(missing)) == (400, "MissingParameter")
    unknown = signed_query(gateway_server, admin, "SetOfferMapping", amazonoffer="m1.small",
                           cloudoffer="no-such-offering")
    assert (unknown.status_code, error_code(unknown)) == (400, "InvalidParameterValue")


def test_an_admins_mapping_is_used_by_run_instances_and_deleted(gateway_server: GatewayServer, new_user: Any,
                                                                 in_reactor: Callable[..., Any]) -> None:
    from ec2soap.core.operations import OPERATIONS

    admin = admin_keys(gateway_server)
    ec2_type = f"x{uuid.uuid4().hex[:6]}.custom"
    response = signed_query(gateway_server, admin, "SetOfferMapping", amazonoffer=ec2_type, cloudoffer="m1.large")
    assert (response.status_code, response.text) == (200, "offering mapping set successfully")
    assert response.headers["Content-Type"].startswith("text/plain")
    try:
        if "RunInstances" not in OPERATIONS:
            pytest.skip("RunInstances is not implemented yet")
        keys = new_user()
        client = boto3_ec2(gateway_server, keys)
        image = client.describe_images()["Images"][0]["ImageId"]
        reservation = client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType=ec2_type)
        instance = reservation["Instances"][0]
        assert instance["InstanceType"] == ec2_type
        status, body = gateway_server.cloudstack(
            {"apikey": keys.access_key, "secretkey": keys.secret_key}, "listVirtualMachines")
        assert status == 200 and [vm["serviceofferingname"] for vm in body["virtualmachine"]] == ["m1.large"]
        client.terminate_instances(InstanceIds=[instance["InstanceId"]])
    finally:
        deleted = signed_query(gateway_server, admin, "DeleteOfferMapping", amazonoffer=ec2_type)
        assert (deleted.status_code, deleted.text) == (200, "offering mapping deleted successfully")
    assert ec2_type not in in_reactor(gateway_server.running.gateway.offerings.mapping)


# -- /metrics, /health, the request log -------------------------------------------------------------------------

def test_metrics_count_requests_cloudstack_calls_and_jobs(gateway_server: GatewayServer, new_user: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    keys = new_user()
    client = boto3_ec2(gateway_server, keys)
    client.describe_key_pairs()
    client.describe_availability_zones()
    response = requests.get(gateway_server.url + "/metrics", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(response.text) for s in family.samples}
    assert samples[("ec2soap_requests_total",
                    (("action", "DescribeKeyPairs"), ("service", "ec2"), ("status", "200")))] >= 1
    assert samples[("ec2soap_request_seconds_count", (("action", "DescribeKeyPairs"), ("service", "ec2")))] >= 1
    assert samples[("ec2soap_cloudstack_calls_total", (("command", "listSSHKeyPairs"), ("outcome", "ok")))] >= 1
    assert samples[("ec2soap_cloudstack_seconds_count", (("command", "listZones"),))] >= 1
    assert ("ec2soap_jobs_in_flight", ()) in samples
    assert ("ec2soap_s3_bytes_total", (("direction", "in"),)) in samples
    # An action name a client made up is counted under "other", so labels cannot grow without end.
    signed_query(gateway_server, keys, "NoSuchAction" + uuid.uuid4().hex)
    text = requests.get(gateway_server.url + "/metrics", timeout=30).text
    assert 'action="other"' in text and "NoSuchAction" not in text


def test_health_reports_database_and_cloudstack(gateway_server: GatewayServer) -> None:
    response = requests.get(gateway_server.url + "/health", timeout=30)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["status"] == "ok"
    assert doc["database"]["status"] == "ok" and doc["cloudstack"]["status"] == "ok"
    assert set(doc["services"]) == {"ec2", "s3"}
    assert requests.head(gateway_server.url + "/health", timeout=30).status_code == 200


def test_health_is_503_when_cloudstack_cannot_be_reached(tmp_path_factory: Any, reactor: Any,
                                                         in_reactor: Callable[..., Any]) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    gateway = _start(tmp_path_factory, in_reactor, reactor, cloudstack_url=f"http://127.0.0.1:{dead}/client/api",
                     cloudstack_admin_api_key="AK", cloudstack_admin_secret_key="very-secret-admin-key",
                     cloudstack_timeout=2.0)
    try:
        response = requests.get(gateway.url + "/health", timeout=30)
        assert response.status_code == 503
        doc = response.json()
        assert doc["status"] == "error" and doc["database"]["status"] == "ok"
        assert doc["cloudstack"] == {"status": "error"}  # the details are in the log, not for anonymous callers
        assert "very-secret-admin-key" not in response.text and str(dead) not in response.text
        # The switches could not be read: the services stay on (EC2 answers, with CloudStack's failure).
        assert doc["services"]["ec2"]["enabled"] is True
    finally:
        _stop(gateway, in_reactor)


def test_a_bucket_named_metrics_stays_reachable_when_signed(gateway_server: GatewayServer, new_user: Any) -> None:
    import boto3
    from botocore.config import Config

    keys = new_user()
    s3 = boto3.client("s3", endpoint_url=gateway_server.url, region_name=REGION,
                      aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                      config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    try:
        s3.create_bucket(Bucket="health")
    except Exception as exc:  # another test run's user may own it on a shared server
        pytest.skip(f"cannot create the bucket: {exc}")
    assert s3.list_objects_v2(Bucket="health")["KeyCount"] == 0
    assert requests.get(gateway_server.url + "/health", timeout=30).json()["status"] == "ok"
    s3.delete_bucket(Bucket="health")


def test_one_log_line_per_request_with_key_and_no_secret(gateway_server: GatewayServer, new_user: Any,
                                                         caplog: Any) -> None:
    keys = new_user()
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        boto3_ec2(gateway_server, keys).describe_key_pairs()
        signed_query(gateway_server, admin_keys(gateway_server), "DeleteOfferMapping", amazonoffer="m9.none")
        eventually(lambda: sum("service=ec2-query" in r.getMessage() for r in caplog.records) >= 2)
    lines = [r.getMessage() for r in caplog.records if "service=ec2-query" in r.getMessage()]
    ours = [line for line in lines if f"access_key={keys.access_key}" in line]
    assert ours and "action=DescribeKeyPairs" in ours[0] and "status=200" in ours[0] and "seconds=" in ours[0]
    assert any("action=DeleteOfferMapping" in line for line in lines)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert keys.secret_key not in text and admin_keys(gateway_server).secret_key not in text
    assert "Signature=" not in text and json.dumps(keys.secret_key)[1:-1] not in text


def test_s3_requests_and_bytes_are_counted(gateway_server: GatewayServer, new_user: Any) -> None:
    import boto3
    from botocore.config import Config

    keys = new_user()
    s3 = boto3.client("s3", endpoint_url=gateway_server.url, region_name=REGION,
                      aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                      config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    metrics = gateway_server.running.metrics
    before_in = metrics.registry.get_sample_value("ec2soap_s3_bytes_total", {"direction": "in"})
    before_out = metrics.registry.get_sample_value("ec2soap_s3_bytes_total", {"direction": "out"})
    bucket = f"m{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 1000)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x" * 1000
    # A request is counted once its answer is written: the client may hold the last byte a moment before that.
    sample = metrics.registry.get_sample_value
    eventually(lambda: sample("ec2soap_s3_bytes_total", {"direction": "out"}) - before_out >= 1000)
    assert sample("ec2soap_s3_bytes_total", {"direction": "in"}) - before_in == 1000
    assert sample("ec2soap_s3_bytes_total", {"direction": "out"}) - before_out == 1000
    assert metrics.registry.get_sample_value("ec2soap_requests_total",
                                             {"service": "s3", "action": "PUT object", "status": "200"}) >= 1
