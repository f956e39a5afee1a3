"""The embedded default asks its built-in simulator in-process (simulator_over_http false): the gateway's
answers do not depend on the simulator's HTTP port, which still serves CloudStack's own clients. With
simulator_over_http the gateway crosses that port (tests/protocol/test_outage.py closes it and every door
answers Unavailable)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from ec2soap.config import Settings
from tests.conftest import signed
from tests.protocol.conftest import CLIENTS, EC2Client, GatewayServer, Keys
from tests.protocol.test_outage import Outage


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """This module's own server, on the defaults but for ports and fast jobs: its simulator port is closed."""
    from ec2soap import server

    settings = Settings(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1,
                        data_dir=str(tmp_path_factory.mktemp("embedded")), simulator_job_seconds=0.2,
                        job_poll_interval=0.05, job_wait=20.0, db_threads=4, cloudstack_timeout=5.0)
    assert not settings.simulator_over_http  # the default under test
    running = in_reactor(server.start, settings, reactor)
    yield GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                        f"http://127.0.0.1:{running.ports['simulator']}/client/api")
    in_reactor(running.stop)
    running.store.close()


def _cloudstack_over_http(server: GatewayServer, keys: Keys) -> requests.Response:
    return requests.post(server.simulator_url, data=signed({"apikey": keys.access_key, "secretkey": keys.secret_key},
                                                           command="listZones"), timeout=10)


def test_the_gateway_answers_with_its_simulator_port_closed(gateway_server: GatewayServer,
                                                            new_user: Callable[[], Keys], reactor: Any,
                                                            in_reactor: Callable[..., Any], tmp_path: Path) -> None:
    from tests.protocol.soap.conftest import SoapClient, make_certificate

    keys = new_user()
    # The port serves CloudStack's API to CloudStack's own clients (cloudmonkey, the cs library)...
    listed = _cloudstack_over_http(gateway_server, keys)
    assert listed.status_code == 200 and listed.json()["listzonesresponse"]["zone"], listed.text
    soap_keys = new_user()
    key_file, cert_file, pem = make_certificate(tmp_path, soap_keys.account)
    in_reactor(gateway_server.running.credentials.register, soap_keys.access_key, soap_keys.secret_key)
    assert in_reactor(gateway_server.running.credentials.set_certificate, soap_keys.access_key, pem)
    soap = SoapClient("ours", gateway_server, soap_keys, key_file, cert_file)

    outage = Outage(gateway_server, reactor, in_reactor)
    outage.begin()
    try:
        # ...and the gateway does not need it: every client gets its answers, made by CloudStack calls
        # (key pairs are CloudStack's; an import is a write).
        with pytest.raises(requests.ConnectionError):
            _cloudstack_over_http(gateway_server, keys)
        for kind in CLIENTS:
            client = EC2Client(kind, gateway_server, keys)
            name = f"embedded-{kind}"
            if kind == "boto3":
                client.client.create_key_pair(KeyName=name)
                names = [k["KeyName"] for k in client.client.describe_key_pairs()["KeyPairs"]]
            elif kind == "boto2":
                client.conn.create_key_pair(name)
                names = [k.name for k in client.conn.get_all_key_pairs()]
            else:
                client.cli("create-key-pair", "--key-name", name)
                names = [k["KeyName"] for k in client.cli("describe-key-pairs")["KeyPairs"]]
            assert name in names, (kind, names)
        soap.call("CreateKeyPair", keyName="embedded-zeep")
        pairs = soap.call("DescribeKeyPairs", keySet={"item": []})
        assert [item.keyName for item in pairs.keySet.item] == ["embedded-zeep"], pairs
    finally:
        outage.restore()
    assert _cloudstack_over_http(gateway_server, keys).status_code == 200
