"""Key pair shapes (EC2 2010-11-15: CreateKeyPair, ImportKeyPair, DeleteKeyPair, DescribeKeyPairs)."""
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register

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
