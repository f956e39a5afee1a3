"""Key pair shapes (EC2 2010-11-15: CreateKeyPair, ImportKeyPair, DeleteKeyPair, DescribeKeyPairs)."""
from ec2soap.wire.inputs import In, request, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, SOAP_FILTERS, tag_specifications

KEY_PAIR_ITEM = Struct("DescribeKeyPairsResponseItemType", (
    field_("keyName", attr="name"), field_("keyFingerprint", attr="fingerprint")))

register("DescribeKeyPairs", Struct("DescribeKeyPairsResponseType", (
    REQUEST_ID, field_("keySet", ListOf("DescribeKeyPairsResponseInfoType", KEY_PAIR_ITEM), attr="."))))
register("CreateKeyPair", Struct("CreateKeyPairResponseType", (
    REQUEST_ID, field_("keyName", attr="name"), field_("keyFingerprint", attr="fingerprint"),
    field_("keyMaterial", attr="material"))))
register("ImportKeyPair", Struct("ImportKeyPairResponseType", (
    REQUEST_ID, field_("keyName", attr="name"), field_("keyFingerprint", attr="fingerprint"))))
register("DeleteKeyPair", Struct("DeleteKeyPairResponseType", (REQUEST_ID, RETURN)))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("DescribeKeyPairs", In("key_names", "list", soap="keySet.keyName"), FILTERS, soap=(
    field_("keySet", soap_set("DescribeKeyPairsInfoType", "DescribeKeyPairsItemType", field_("keyName"))),
    SOAP_FILTERS))
request("CreateKeyPair", In("key_name", soap="keyName", required=True), tag_specifications("tags", "key-pair"),
        soap=(field_("keyName"),))
request("ImportKeyPair", In("key_name", soap="keyName", required=True),
        In("public_key_material", soap="publicKeyMaterial", required=True), tag_specifications("tags", "key-pair"),
        soap=(field_("keyName"), field_("publicKeyMaterial")))
request("DeleteKeyPair", In("key_name", soap="keyName", required=True), soap=(field_("keyName"),))
