"""The POST form reader (s3.post_form.FormReceiver): fields and file however the body is cut into chunks,
S3's limits and refusals, the hook at the file part, and nothing kept after an abort."""
from __future__ import annotations

import pytest

from ec2soap.s3.errors import S3Error
from ec2soap.s3.post_form import MAX_FIELD_BYTES, FormReceiver, boundary_of


class Sink:
    def __init__(self) -> None:
        self.data, self.aborted = b"", False

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def abort(self) -> None:
        self.aborted = True


def form(*parts: tuple[str, bytes], filename: str = "f.txt", boundary: str = "BND") -> bytes:
    out = b""
    for name, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if name.lower() == "file" else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def receive(body: bytes, step: int, before_file=None) -> FormReceiver:
    sinks: list[Sink] = []
    receiver = FormReceiver("BND", lambda: sinks.append(Sink()) or sinks[-1], before_file)
    for i in range(0, len(body), step):
        receiver.write(body[i:i + step])
    receiver.finish()
    return receiver


@pytest.mark.parametrize("step", [1, 7, 64, 100000])
def test_fields_and_file_whatever_the_chunks(step: int) -> None:
    payload = bytes(range(256)) * 40 + b"\r\n--BN not a boundary"
    body = form(("Key", b"a/${filename}"), ("X-Amz-Meta-Café", b"ok"),
                ("file", payload), ("after", b"ignored"))
    receiver = receive(body, step)
    assert receiver.fields == {"key": "a/${filename}", "x-amz-meta-café": "ok"}
    assert (receiver.filename, receiver.body.data) == ("f.txt", payload)


def test_refusals() -> None:
    with pytest.raises(S3Error) as caught:
        receive(form(("key", b"k")), 10)
    assert caught.value.code == "InvalidArgument"  # no file
    with pytest.raises(S3Error) as caught:
        receive(form(("key", b"k"), ("KEY", b"j"), ("file", b"x")), 10)
    assert caught.value.code == "InvalidArgument"  # a repeated field
    with pytest.raises(S3Error) as caught:
        receive(form(("big", b"v" * MAX_FIELD_BYTES), ("file", b"x")), 4096)
    assert caught.value.code == "MaxPostPreDataLengthExceededError"
    with pytest.raises(S3Error) as caught:
        receive(form(("key", b"k"), ("file", b"x"))[:-12], 10)  # cut short
    assert caught.value.code == "MalformedPOSTRequest"
    with pytest.raises(S3Error) as caught:
        receive(form(("key", b"\xff\xfe"), ("file", b"x")), 10)
    assert caught.value.code == "MalformedPOSTRequest"
    with pytest.raises(S3Error) as caught:
        boundary_of("application/x-www-form-urlencoded")
    assert caught.value.code == "PreconditionFailed"
    assert boundary_of('multipart/form-data; boundary="a b"') == "a b"


def test_the_hook_at_the_file_part_sees_every_field_and_caps_the_file() -> None:
    seen = []

    def before(fields: dict, filename: str) -> int:
        seen.append((dict(fields), filename))
        return 5
    body = form(("key", b"k"), ("file", b"12345"))
    assert receive(body, 3, before).body.data == b"12345"
    assert seen == [({"key": "k"}, "f.txt")]
    with pytest.raises(S3Error) as caught:
        receive(form(("key", b"k"), ("file", b"123456")), 3, before)
    assert caught.value.code == "EntityTooLarge"


def test_abort_drops_the_file() -> None:
    sinks: list[Sink] = []
    receiver = FormReceiver("BND", lambda: sinks.append(Sink()) or sinks[-1])
    receiver.write(form(("key", b"k"), ("file", b"partial" * 100))[:-20])
    receiver.abort()
    assert sinks[0].aborted
