"""ec2soap.door.FrontDoor, the wrapper every protocol's resource shares, served by a real twisted.web Site on
127.0.0.1 and asked with `requests`. The protocol here is a small one written for the test (a text format with
its own error class), so that what the base guarantees is checked apart from EC2 and S3: the answer or the
protocol's own error, the catch-all that never shows internals, the switch checked after `read`, an answer even
when the wrapper itself fails, one key=value log line and the metrics for every request."""
from __future__ import annotations

import logging
import re
from typing import Any, Callable

import pytest
import requests
from twisted.web import server

from ec2soap import __version__
from ec2soap.door import Answer, Exchange, FrontDoor
from ec2soap.metrics import Metrics

LINE = re.compile(r"^probe( [a-z_]+=[^\s=]+)+$")


class ProbeError(Exception):
    def __init__(self, code: str, status: int):
        super().__init__(code)
        self.code, self.status = code, status


class Probe(FrontDoor):
    """GET /<action>: 'ok' answers, 'refused' is a protocol error, 'boom' an unexpected exception,
    'unwritable' an error whose document cannot be written, 'stream' writes its own response."""
    service = "probe"
    log_name = "probe"
    errors = (ProbeError,)

    def render_GET(self, request: Any) -> Any:
        return self.serve(request)

    async def read(self, exchange: Exchange) -> str:
        exchange.action = exchange.request.path.decode("ascii").strip("/") or "-"
        return exchange.action

    async def answer(self, exchange: Exchange) -> Answer | None:
        action = exchange.parsed
        exchange.caller = "AKPROBE"
        if action == "ok":
            return Answer(201, "text/plain", b"fine", {"X-Probe": "yes"})
        if action == "refused":
            raise ProbeError("Refused", 403)
        if action == "boom":
            raise RuntimeError("internal detail password=hunter2")
        if action == "unwritable":
            raise ProbeError("Unwritable", 400)
        if action == "stream":
            exchange.request.setResponseCode(206)
            exchange.request.write(b"partial")
            exchange.request.finish()
            return None
        raise ProbeError("NoSuchAction", 404)

    def disabled_error(self) -> ProbeError:
        return ProbeError("Disabled", 503)

    def internal_error(self) -> ProbeError:
        return ProbeError("Internal", 500)

    def error_answer(self, exchange: Exchange, error: ProbeError) -> Answer:
        if error.code == "Unwritable":
            raise RuntimeError("the error document cannot be written")
        return Answer(error.status, "text/plain", f"error {error.code} {exchange.request_id}".encode())


@pytest.fixture
def probe(serve: Callable[[Any], int]) -> tuple[Probe, str]:
    door = Probe(metrics=Metrics())
    site = server.Site(door)
    site.displayTracebacks = False
    return door, f"http://127.0.0.1:{serve(site)}"


def _lines(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("probe request=")]


def _count(door: Probe, action: str, status: int) -> float:
    return door.metrics.registry.get_sample_value(
        "ec2soap_requests_total", {"service": "probe", "action": action, "status": str(status)}) or 0.0


def _wait_for_line(caplog: Any, count: int) -> list[str]:
    import time

    deadline = time.monotonic() + 10
    while len(_lines(caplog)) < count:
        assert time.monotonic() < deadline, _lines(caplog)
        time.sleep(0.02)
    return _lines(caplog)


def test_an_answer_is_written_logged_and_counted(probe: tuple[Probe, str], caplog: Any) -> None:
    door, url = probe
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        response = requests.get(url + "/ok", timeout=10)
        line, = _wait_for_line(caplog, 1)
    assert (response.status_code, response.text, response.headers["X-Probe"]) == (201, "fine", "yes")
    assert response.headers["Server"] == f"ec2soap/{__version__}"
    assert LINE.match(line), line
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    assert fields["action"] == "ok" and fields["status"] == "201" and fields["caller"] == "AKPROBE"
    assert fields["client"] == "127.0.0.1" and float(fields["seconds"]) >= 0
    assert len(fields["request"]) == 36  # a uuid4
    assert _count(door, "ok", 201) == 1


def test_a_protocol_error_is_its_own_document(probe: tuple[Probe, str], caplog: Any) -> None:
    door, url = probe
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        response = requests.get(url + "/refused", timeout=10)
        line, = _wait_for_line(caplog, 1)
    assert response.status_code == 403 and response.text.startswith("error Refused ")
    request_id = response.text.split()[-1]
    assert f"request={request_id}" in line and "status=403" in line
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a refusal is not a failure
    assert _count(door, "refused", 403) == 1


def test_anything_else_is_the_protocols_internal_error_without_its_text(probe: tuple[Probe, str],
                                                                         caplog: Any) -> None:
    door, url = probe
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        response = requests.get(url + "/boom", timeout=10)
        line, = _wait_for_line(caplog, 1)
    assert response.status_code == 500 and response.text.startswith("error Internal ")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info is not None  # the traceback is in the log, once
    assert LINE.match(line) and "status=500" in line and "hunter2" not in line
    assert _count(door, "boom", 500) == 1


def test_the_switch_is_asked_after_read_so_the_refusal_names_the_action(probe: tuple[Probe, str],
                                                                         caplog: Any) -> None:
    door, url = probe
    door.enabled = lambda: False
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        response = requests.get(url + "/ok", timeout=10)
        line, = _wait_for_line(caplog, 1)
    assert response.status_code == 503 and response.text.startswith("error Disabled ")
    assert "action=ok" in line and "status=503" in line and "caller=-" in line  # answer() never ran
    assert _count(door, "ok", 503) == 1


def test_a_response_the_protocol_writes_itself_is_logged_with_its_status(probe: tuple[Probe, str],
                                                                          caplog: Any) -> None:
    door, url = probe
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        response = requests.get(url + "/stream", timeout=10)
        line, = _wait_for_line(caplog, 1)
    assert (response.status_code, response.content) == (206, b"partial")
    assert "status=206" in line and _count(door, "stream", 206) == 1


def test_when_the_wrapper_itself_fails_the_client_still_gets_the_internal_error(probe: tuple[Probe, str],
                                                                               caplog: Any) -> None:
    door, url = probe
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        response = requests.get(url + "/unwritable", timeout=10)
        line, = _wait_for_line(caplog, 1)
    assert response.status_code == 500 and response.text.startswith("error Internal ")
    assert any("failed outside the handler" in r.getMessage() for r in caplog.records)
    assert "action=unwritable" in line and "status=500" in line  # still one line, with what was answered


def test_an_unbounded_action_is_what_the_protocol_says_in_metrics(probe: tuple[Probe, str], caplog: Any) -> None:
    door, url = probe
    door.metric_action = lambda exchange: "other"  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        assert requests.get(url + "/anything-at-all", timeout=10).status_code == 404
        _wait_for_line(caplog, 1)
    assert _count(door, "other", 404) == 1 and _count(door, "anything-at-all", 404) == 0
