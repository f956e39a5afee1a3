"""S3 tagging validation without a server: the Tagging document (s3.xml_tagging), the tag-set limits and the
x-amz-tagging header (s3.tag_rules), the policy condition keys tags give and the set operators that read them
(s3.policy), the stored form and version_tags (which the lifecycle sweeper reads)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ec2soap.s3 import policy, tag_rules
from ec2soap.s3.errors import S3Error
from ec2soap.s3.xml_tagging import parse_tagging, tagging_document


def _code(fn, *args) -> tuple[str, str]:
    with pytest.raises(S3Error) as caught:
        fn(*args)
    return caught.value.code, caught.value.message


def _doc(*tags: str) -> bytes:
    return ('<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>%s</TagSet></Tagging>'
            % "".join(tags)).encode()


def test_parse_and_render_round_trip() -> None:
    pairs = parse_tagging(_doc("<Tag><Key>a b</Key><Value> v </Value></Tag>", "<Tag><Key>e</Key><Value/></Tag>"))
    assert pairs == [("a b", " v "), ("e", "")]
    assert parse_tagging(tagging_document(dict(pairs))) == pairs
    assert parse_tagging(b"<Tagging><TagSet/></Tagging>") == []


@pytest.mark.parametrize("body", [
    b"", b"junk", b"<Tagging/>", b"<Other><TagSet/></Other>", b"<Tagging><TagSet/><TagSet/></Tagging>",
    b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key><Value/></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Key><x/></Key><Value/></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Item/></TagSet></Tagging>",
    b'<!DOCTYPE t [<!ENTITY e "x">]><Tagging><TagSet/></Tagging>',
])
def test_malformed_documents(body: bytes) -> None:
    assert _code(parse_tagging, body)[0] == "MalformedXML"


def test_object_limits() -> None:
    assert tag_rules.check_object_tags([(f"k{i}", "v") for i in range(10)]) == {f"k{i}": "v" for i in range(10)}
    assert _code(tag_rules.check_object_tags, [(f"k{i}", "v") for i in range(11)]) == (
        "BadRequest", "Object tags cannot be greater than 10")
    assert _code(tag_rules.check_object_tags, [("a", "1"), ("a", "2")]) == (
        "InvalidTag", "Cannot provide multiple Tags with the same key")
    assert _code(tag_rules.check_object_tags, [("AWS:x", "1")])[0] == "InvalidTag"
    assert _code(tag_rules.check_object_tags, [("", "1")])[0] == "InvalidTag"
    assert _code(tag_rules.check_object_tags, [("k" * 129, "1")])[1].endswith("max 128")
    assert _code(tag_rules.check_object_tags, [("k", "v" * 257)])[1].endswith("max 256")
    assert _code(tag_rules.check_object_tags, [("k", "a*b")])[1] == "The TagValue you have provided is invalid"
    assert tag_rules.check_object_tags([("k" * 128, "v" * 256), ("ключ é 1", "+-=._:/@ ")])


def test_bucket_limits() -> None:
    assert len(tag_rules.check_bucket_tags([(f"k{i}", "") for i in range(50)])) == 50
    assert _code(tag_rules.check_bucket_tags, [(f"k{i}", "") for i in range(51)])[0] == "InvalidTag"
    assert _code(tag_rules.check_bucket_tags, [("aws:cloudformation", "x")])[0] == "InvalidTag"


@pytest.mark.parametrize("header, expected", [
    ("a=1&b=two%20words&c+d=e+f", {"a": "1", "b": "two words", "c d": "e f"}),
    ("solo", {"solo": ""}), ("k=", {"k": ""}), ("", {}), ("x=%C3%A9", {"x": "é"}), ("a=1&&b=2", {"a": "1", "b": "2"}),
])
def test_header(header: str, expected: dict) -> None:
    assert tag_rules.parse_tagging_header({"x-amz-tagging": header}) == expected


def test_header_absent_and_refused() -> None:
    assert tag_rules.parse_tagging_header({}) is None
    for header in ("a=1&a=2", "a=%zz", "a=%f", "a=%ff"):
        assert _code(tag_rules.parse_tagging_header, {"x-amz-tagging": header})[0] == "InvalidArgument", header
    assert _code(tag_rules.parse_tagging_header, {"x-amz-tagging": "aws:a=1"})[0] == "InvalidTag"
    assert _code(tag_rules.parse_tagging_header,
                 {"x-amz-tagging": "&".join(f"k{i}=v" for i in range(11))})[0] == "BadRequest"


def test_directive() -> None:
    assert tag_rules.tagging_directive({}) == "COPY"
    assert tag_rules.tagging_directive({"x-amz-tagging-directive": "replace"}) == "REPLACE"
    assert _code(tag_rules.tagging_directive, {"x-amz-tagging-directive": "MERGE"})[0] == "InvalidArgument"


def test_stored_form_and_version_tags() -> None:
    assert tag_rules.dumps({}) is None and tag_rules.dumps(None) is None
    stored = tag_rules.dumps({"b": "2", "a": "é"})
    assert tag_rules.loads(stored) == {"a": "é", "b": "2"}
    assert tag_rules.version_tags(SimpleNamespace(tags=stored)) == {"a": "é", "b": "2"}  # a row
    assert tag_rules.version_tags(SimpleNamespace(tags={"x": "1"})) == {"x": "1"}  # an ObjectVersion
    assert tag_rules.version_tags(SimpleNamespace(tags=None)) == {}


def _policy(condition: dict) -> dict:
    return policy.parse_policy('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", '
                               '"Resource": "arn:aws:s3:::b/*", "Condition": %s}]}'
                               % json.dumps(condition), "b")


def _allowed(doc: dict, context: dict | None) -> bool:
    return policy.evaluate(doc, "someone", "s3:PutObject", "arn:aws:s3:::b/k", context) == "Allow"


def test_condition_keys_from_tags() -> None:
    obj = SimpleNamespace(tags={"public": "yes"})
    assert tag_rules.with_existing_tags({"aws:SourceIp": "1.2.3.4"}, obj) == {
        "aws:SourceIp": "1.2.3.4", "s3:ExistingObjectTag/public": "yes"}
    assert tag_rules.with_existing_tags(None, SimpleNamespace(tags={})) is None
    assert tag_rules.with_request_tags(None, None) is None
    assert tag_rules.with_request_tags({}, {"b": "2", "a": "1"}) == {
        "s3:RequestObjectTag/a": "1", "s3:RequestObjectTag/b": "2", "s3:RequestObjectTagKeys": ["a", "b"]}
    existing = _policy({"StringEquals": {"s3:ExistingObjectTag/public": "yes"}})
    assert _allowed(existing, tag_rules.with_existing_tags(None, obj))
    assert not _allowed(existing, tag_rules.with_existing_tags(None, SimpleNamespace(tags={"public": "no"})))
    assert not _allowed(existing, None)


def test_set_operators_on_request_tag_keys() -> None:
    def context(*keys: str) -> dict:
        return tag_rules.with_request_tags({}, {key: "v" for key in keys})  # type: ignore[return-value]
    all_of = _policy({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "cost"]}})
    assert _allowed(all_of, context("team")) and _allowed(all_of, context("team", "cost"))
    assert not _allowed(all_of, context("team", "other"))
    assert _allowed(all_of, None)  # IAM: ForAllValues holds over an absent key
    any_of = _policy({"ForAnyValue:StringLike": {"s3:RequestObjectTagKeys": "te*"}})
    assert _allowed(any_of, context("x", "team")) and not _allowed(any_of, context("x")) \
        and not _allowed(any_of, None)
    none_of = _policy({"ForAllValues:StringNotEquals": {"s3:RequestObjectTagKeys": "secret"}})
    assert _allowed(none_of, context("a", "b")) and not _allowed(none_of, context("a", "secret"))
    plain = _policy({"StringEquals": {"s3:RequestObjectTagKeys": "team"}})  # any value matching
    assert _allowed(plain, context("x", "team")) and not _allowed(plain, context("x"))
    with pytest.raises(S3Error):
        _policy({"ForSomeValues:StringEquals": {"s3:RequestObjectTagKeys": "a"}})


# -- the operations on every engine (SQLite, PostgreSQL, MariaDB) ----------------------------------------------

def test_tags_stored_per_version_on_every_engine(any_ops) -> None:
    from tests.unit.s3.conftest import ALICE, put, upload_part

    ops = any_ops
    ops.create_bucket(ALICE, "tags")
    ops.put_bucket_versioning(ALICE, "tags", "Enabled")
    v1 = put(ops, ALICE, "tags", "k", b"one", {"x-amz-tagging": "name=%C3%A9t%C3%A9&n=1"})
    v2 = put(ops, ALICE, "tags", "k", b"two")
    assert ops.get_object_tagging(ALICE, "tags", "k", v1.version_id).tags == {"name": "été", "n": "1"}
    assert ops.get_object_tagging(ALICE, "tags", "k").tags == {}
    assert ops.get_object(ALICE, "tags", "k", v1.version_id, head=True).headers["x-amz-tagging-count"] == "2"
    ops.put_object_tagging(ALICE, "tags", "k", {"ключ": "значение"})
    assert ops.get_object_tagging(ALICE, "tags", "k", v2.version_id).tags == {"ключ": "значение"}
    copied, _ = ops.copy_object(ALICE, "tags", "c", "tags", "k", v1.version_id, {})
    assert copied.tags == {"name": "été", "n": "1"}
    upload = ops.create_multipart_upload(ALICE, "tags", "mp", {"x-amz-tagging": "mp=1"})
    part = upload_part(ops, ALICE, "tags", "mp", upload.upload_id, 1, b"x" * 10)
    done = ops.complete_multipart_upload(ALICE, "tags", "mp", upload.upload_id, [(1, part.etag)])
    assert ops.get_object_tagging(ALICE, "tags", "mp", done.version_id).tags == {"mp": "1"}
    ops.delete_object(ALICE, "tags", "k", v1.version_id)
    with pytest.raises(S3Error) as caught:
        ops.get_object_tagging(ALICE, "tags", "k", v1.version_id)
    assert caught.value.code == "NoSuchVersion"
    ops.put_bucket_tagging(ALICE, "tags", {f"k{i}": "é" for i in range(50)})
    assert ops.get_bucket_tagging(ALICE, "tags") == {f"k{i}": "é" for i in range(50)}
    ops.delete_bucket_tagging(ALICE, "tags")
    with pytest.raises(S3Error) as caught:
        ops.get_bucket_tagging(ALICE, "tags")
    assert caught.value.code == "NoSuchTagSet"


def test_concurrent_put_object_tagging_leaves_one_whole_set(any_ops) -> None:
    import threading

    from tests.unit.s3.conftest import ALICE, put

    ops = any_ops
    ops.create_bucket(ALICE, "race")
    put(ops, ALICE, "race", "k", b"data")
    sets = [{f"s{i}k{j}": str(i) for j in range(5)} for i in range(6)]
    errors: list = []

    def tag(i: int) -> None:
        try:
            ops.put_object_tagging(ALICE, "race", "k", sets[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=tag, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ops.get_object_tagging(ALICE, "race", "k").tags in sets
