"""The front doors against the real server: one error translation for every action the gateway runs, EC2's
and the original awsapi's own (SetUserKeys, SetOfferMapping, ...), and one key=value log line per request on
every EC2 door.

The CloudStack behind this module's gateway is a real HTTP server that fails every command with CloudStack's
own error body (errorcode 530), then stops listening: the gateway's client talks to it over loopback as it
would to a broken or a stopped management server."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from lxml import etree
from twisted.web import resource, server

from ec2soap.config import Settings
from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.test_ops import signed_query

_INTERNALS = "cloudstack-internal-detail-5f1c"


class FailingCloudStack(resource.Resource):
    """Every command fails as CloudStack fails an unexpected server error (HTTP 530, errorresponse)."""
    isLeaf = True

    def render(self, request: Any) -> bytes:
        request.setResponseCode(530)
        request.setHeader("Content-Type", "application/json")
        return json.dumps({"errorresponse": {"uuidList": [], "errorcode": 530, "cserrorcode": 9999,
                                             "errortext": _INTERNALS}}).encode()


@pytest.fixture(scope="module")
def cloudstack(reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[Any]:
    port = in_reactor(lambda: reactor.listenTCP(0, server.Site(FailingCloudStack()), interface="127.0.0.1"))
    yield port
    in_reactor(port.stopListening)


@pytest.fixture(scope="module")
def gateway_server(cloudstack: Any, tmp_path_factory: Any, reactor: Any,
                   in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    from ec2soap import server as gateway

    url = f"http://127.0.0.1:{cloudstack.getHost().port}/client/api"
    settings = Settings(host="127.0.0.1", port=0, data_dir=str(tmp_path_factory.mktemp("door")), cloudstack_url=url,
                        cloudstack_timeout=5.0, job_poll_interval=0.05, job_wait=5.0, db_threads=4,
                        enable_ec2=True, enable_s3=True)
    running = in_reactor(gateway.start, settings, reactor)
    yield GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}", url)
    in_reactor(running.stop)
    running.store.close()


@pytest.fixture(scope="module")
def keys(gateway_server: GatewayServer, in_reactor: Callable[..., Any]) -> Keys:
    """Keys the gateway has registered: their signatures are checked without CloudStack."""
    registered = Keys(f"AK{uuid.uuid4().hex[:18].upper()}", uuid.uuid4().hex, "door")
    in_reactor(gateway_server.running.credentials.register, registered.access_key, registered.secret_key)
    return registered


def _answers(server: GatewayServer, keys: Keys) -> dict[str, tuple[int, str | None]]:
    """(HTTP status, EC2 error code) of an EC2 action and of each original action that asks CloudStack."""
    sent = {
        "DescribeKeyPairs": signed_query(server, keys, "DescribeKeyPairs"),
        "DescribeAvailabilityZones": signed_query(server, keys, "DescribeAvailabilityZones"),
        "SetUserKeys": signed_query(server, None, "SetUserKeys", accesskey=keys.access_key,
                                    secretkey=keys.secret_key),
        "SetOfferMapping": signed_query(server, keys, "SetOfferMapping", amazonoffer="m1.small",
                                        cloudoffer="m1.large"),
        "DeleteOfferMapping": signed_query(server, keys, "DeleteOfferMapping", amazonoffer="m1.small"),
    }
    answers = {}
    for action, response in sent.items():
        assert _INTERNALS not in response.text, (action, response.text)
        assert response.headers["Content-Type"].startswith("text/xml"), (action, response.headers)
        answers[action] = (response.status_code, etree.fromstring(response.content).findtext("Errors/Error/Code"))
    return answers


_LINE = re.compile(r"^(service=ec2-query|ec2-soap) request=\S+ (access_key|key)=\S+ action=\S+ status=\d{3} "
                   r"seconds=\d+\.\d{3} client=\S+$")


def test_one_key_value_line_per_request_on_every_ec2_door(gateway_server: GatewayServer, keys: Keys,
                                                          caplog: Any) -> None:
    soap_body = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                 '<DescribeRegions xmlns="http://ec2.amazonaws.com/doc/2010-11-15/"/></soapenv:Body>'
                 '</soapenv:Envelope>')
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        query = signed_query(gateway_server, keys, "DescribeRegions")
        refused = signed_query(gateway_server, keys, "NoSuchAction")
        unsigned = requests.post(gateway_server.url + "/awsapi/services/AmazonEC2", data=soap_body.encode(),
                                 headers={"Content-Type": "text/xml", "SOAPAction": "DescribeRegions"}, timeout=30)
        deadline = time.monotonic() + 10
        while len([r for r in caplog.records if _LINE.match(r.getMessage())]) < 3:
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
    assert (query.status_code, refused.status_code, unsigned.status_code) == (200, 400, 500)
    lines = [r.getMessage() for r in caplog.records if _LINE.match(r.getMessage())]
    assert any(line.startswith("service=ec2-query") and "action=DescribeRegions status=200" in line
               and f"access_key={keys.access_key}" in line for line in lines), lines
    assert any(line.startswith("service=ec2-query") and "action='NoSuchAction' status=400" in line
               for line in lines), lines
    assert any(line.startswith("ec2-soap ") and "key=- " in line and "status=500" in line for line in lines), lines
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert keys.secret_key not in text and "Signature=" not in text


def test_every_action_translates_cloudstack_failures_the_same_way(gateway_server: GatewayServer, keys: Keys,
                                                                  cloudstack: Any, in_reactor: Callable[..., Any]
                                                                  ) -> None:
    # CloudStack answers, with an error nobody translated: InternalError for EC2's actions and the original's
    # alike (the original's used to say Unavailable), never CloudStack's text.
    assert set(_answers(gateway_server, keys).values()) == {(500, "InternalError")}

    # What needs no CloudStack still answers.
    version = signed_query(gateway_server, None, "CloudEC2Version")
    assert version.status_code == 200 and etree.fromstring(version.content).tag == "CloudEC2Version"

    # CloudStack unreachable: Unavailable (503) for every one of them.
    in_reactor(cloudstack.stopListening)
    in_reactor(gateway_server.running.cloud_factory.close)  # the pooled keep-alive connections go too
    assert set(_answers(gateway_server, keys).values()) == {(503, "Unavailable")}
