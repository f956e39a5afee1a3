"""A signed POST's file waits for its secret's lookup (s3.post_early), which may itself need the pool the file
is written from: on a gateway whose whole pool is one thread, shared with the built-in simulator that answers
the lookup, concurrent large POSTs of accounts never seen before (no secret cached) are all stored promptly
(never more than HOLD_SECONDS held up each); a forged one among them is refused and nothing of it is left."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

from ec2soap.s3.post_form import HOLD_SECONDS
from tests.protocol.conftest import GatewayServer, Keys, serve_gateway
from tests.protocol.s3.test_post_uploads import MiB, StreamedForm, User, _tmp_dir, error_of


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, name="one-thread", db_threads=1)


def test_concurrent_posts_on_a_one_thread_pool(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    users = [User(gateway_server, new_user(), "one-" + uuid.uuid4().hex[:10]) for _ in range(5)]
    forms = [user.presigned("concurrent") for user in users]
    forms[-1]["fields"]["x-amz-signature"] = "0" * 64

    def send(number: int) -> tuple[Any, StreamedForm, float]:
        body = StreamedForm(forms[number]["fields"], 24 * MiB, _tmp_dir(users[number]))
        started = time.monotonic()
        return body.post(forms[number]["url"]), body, time.monotonic() - started

    with ThreadPoolExecutor(len(users)) as pool:
        results = list(pool.map(send, range(len(users))))
    for user, (response, _, seconds) in zip(users[:-1], results):
        assert response.status_code == 204, response.text
        assert seconds < 10 * HOLD_SECONDS
        assert user.s3.head_object(Bucket=user.bucket, Key="concurrent")["ContentLength"] == 24 * MiB
    forged = results[-1][0]
    assert (forged.status_code, error_of(forged)[0]) == (403, "SignatureDoesNotMatch")
    assert users[-1].keys_in() == []
    assert list(_tmp_dir(users[-1]).iterdir()) == []
