"""The original awsapi's own actions are gateway actions like EC2's: one table in the core, each answered by
the Query door, none of them an EC2 action (no binding, no response shape, no SOAP operation)."""
from __future__ import annotations


def test_every_extension_has_a_query_answer_and_is_no_ec2_action() -> None:
    from ec2soap.core.extensions import EXTENSIONS
    from ec2soap.core.operations import GATEWAY_ACTIONS, OPERATIONS
    from ec2soap.wire.inputs import REQUESTS as BINDINGS
    from ec2soap.query.extensions import QUERY_EXTENSIONS
    from ec2soap.wire import types  # noqa: F401  (registers every response shape)
    from ec2soap.wire.shapes import RESPONSES

    assert sorted(EXTENSIONS) == sorted(QUERY_EXTENSIONS) == [
        "CloudEC2Version", "DeleteCertificate", "DeleteOfferMapping", "SetCertificate", "SetOfferMapping",
        "SetUserKeys"]
    assert not set(EXTENSIONS) & (set(OPERATIONS) | set(BINDINGS) | set(RESPONSES))
    assert GATEWAY_ACTIONS == {**OPERATIONS, **EXTENSIONS}


def test_only_the_originals_unsigned_actions_skip_the_signature() -> None:
    from ec2soap.query.extensions import QUERY_EXTENSIONS

    assert sorted(a for a, e in QUERY_EXTENSIONS.items() if not e.signed) == ["CloudEC2Version", "SetUserKeys"]


def test_the_soap_door_publishes_none_of_them() -> None:
    from ec2soap.core.extensions import EXTENSIONS
    from ec2soap.soap.service import build_application

    _, models = build_application()
    assert not set(EXTENSIONS) & set(models.requests)
