"""A form's verdict awaited while its file arrives (s3.post_early with s3.post_form.FormReceiver), on the real
reactor (running in its thread) with this test's thread as the pool: the first bytes of the file are held in
memory while the secret's lookup runs on the reactor, the write that would hold more than HOLD_BYTES waits for
the verdict (HOLD_SECONDS at most), and the sink is opened only once the form has passed: never for a refused
one, unless the verdict is later than that wait, when the file goes to the sink and the verdict applies when
it comes."""
from __future__ import annotations

import threading
import time
from typing import Any, Optional

import pytest

from ec2soap.auth.credentials import CredentialsUnavailable
from ec2soap.auth.errors import AuthError
from ec2soap.s3.errors import S3Error
from ec2soap.s3.post_early import Pending, ReactorLookup
from ec2soap.s3.post_form import HOLD_BYTES, HOLD_SECONDS, FormReceiver

MiB = 1024 * 1024


class Sink:
    def __init__(self) -> None:
        self.data, self.aborted = bytearray(), False

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def abort(self) -> None:
        self.aborted = True


def slow_secret(reactor: Any, seconds: float, outcome: Any) -> Any:
    """A coroutine function that answers OUTCOME (raised if an exception) after SECONDS on the reactor,
    recording the thread it ran on."""
    from twisted.internet.task import deferLater

    threads: list[str] = []

    async def lookup() -> Optional[str]:
        threads.append(threading.current_thread().name)
        await deferLater(reactor, seconds, lambda: None)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
    lookup.threads = threads  # type: ignore[attr-defined]
    return lookup


def head(fields: dict) -> bytes:
    out = b"".join(f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                   for k, v in fields.items())
    return out + b'--B\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'


def receiver(reactor: Any, lookup: Any, judge: Any) -> tuple[FormReceiver, list[Sink]]:
    sinks: list[Sink] = []
    pending = Pending(ReactorLookup(lookup, reactor), judge)
    return FormReceiver("B", lambda: sinks.append(Sink()) or sinks[-1], lambda fields, name: pending), sinks


def test_the_file_waits_in_memory_for_its_verdict(reactor: Any) -> None:
    lookup = slow_secret(reactor, 0.5, "secret")
    form, sinks = receiver(reactor, lookup, lambda secret: 8 * MiB if secret == "secret" else 0)
    started = time.monotonic()
    form.write(head({"key": "k"}) + b"a" * (HOLD_BYTES // 2))
    form.write(b"b" * (HOLD_BYTES // 4))
    assert sinks == [] and time.monotonic() - started < 0.4  # held, not waited for, while few
    form.write(b"c" * (HOLD_BYTES // 2))  # past HOLD_BYTES: this write waits for the verdict
    assert time.monotonic() - started >= 0.45 and len(sinks) == 1
    form.write(b"d" * MiB + b"\r\n--B--\r\n")
    form.finish()
    assert bytes(sinks[0].data) == (b"a" * (HOLD_BYTES // 2) + b"b" * (HOLD_BYTES // 4) + b"c" * (HOLD_BYTES // 2)
                                    + b"d" * MiB)
    assert lookup.threads == ["reactor"]


def test_a_small_file_is_judged_at_finish(reactor: Any) -> None:
    form, sinks = receiver(reactor, slow_secret(reactor, 0.2, "secret"), lambda secret: None)
    form.write(head({"key": "k"}) + b"tiny\r\n--B--\r\n")
    assert sinks == []
    form.finish()
    assert bytes(sinks[0].data) == b"tiny"


@pytest.mark.parametrize("outcome, judge, code", [
    ("secret", lambda s: (_ for _ in ()).throw(AuthError("SignatureDoesNotMatch", "no")), "SignatureDoesNotMatch"),
    (CredentialsUnavailable("down"), lambda s: None, "ServiceUnavailable"),
    ("secret", lambda s: MiB, "EntityTooLarge"),  # the held bytes are already past the policy's range
])
def test_a_refused_form_never_opens_its_sink(reactor: Any, outcome: Any, judge: Any, code: str) -> None:
    form, sinks = receiver(reactor, slow_secret(reactor, 0.2, outcome), judge)
    form.write(head({"key": "k"}) + b"x" * (HOLD_BYTES // 2))
    with pytest.raises((S3Error, AuthError)) as caught:
        form.write(b"y" * HOLD_BYTES)
    assert caught.value.code == code
    form.abort()
    assert sinks == []


@pytest.mark.parametrize("verdict", ["passed", "refused"])
def test_a_verdict_later_than_the_wait_lets_the_file_go_to_disk(reactor: Any, verdict: str) -> None:
    def judge(secret: Optional[str]) -> Optional[int]:
        if verdict == "refused":
            raise AuthError("SignatureDoesNotMatch", "no")
        return None
    form, sinks = receiver(reactor, slow_secret(reactor, HOLD_SECONDS + 0.6, "secret"), judge)
    started = time.monotonic()
    form.write(head({"key": "k"}) + b"a" * HOLD_BYTES)
    form.write(b"b" * MiB)  # waits HOLD_SECONDS, then opens the sink: the pool thread is not held longer
    assert HOLD_SECONDS - 0.05 <= time.monotonic() - started < HOLD_SECONDS + 0.5
    assert len(sinks) == 1 and len(sinks[0].data) == HOLD_BYTES + MiB
    form.write(b"c")  # a poll only
    time.sleep(HOLD_SECONDS)
    if verdict == "refused":
        with pytest.raises(AuthError):
            form.write(b"d")
        form.abort()
        assert sinks[0].aborted
        return
    form.write(b"d\r\n--B--\r\n")
    form.finish()
    assert bytes(sinks[0].data) == b"a" * HOLD_BYTES + b"b" * MiB + b"cd"


def test_a_small_file_whose_verdict_is_late_is_left_to_the_handler(reactor: Any) -> None:
    form, sinks = receiver(reactor, slow_secret(reactor, HOLD_SECONDS + 1.0, "secret"),
                           lambda s: (_ for _ in ()).throw(AuthError("SignatureDoesNotMatch", "no")))
    form.write(head({"key": "k"}) + b"tiny\r\n--B--\r\n")
    form.finish()  # waits HOLD_SECONDS, no more; s3.handlers_post checks the signature itself
    assert bytes(sinks[0].data) == b"tiny"
