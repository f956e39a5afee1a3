"""Shapes shared by several families: tags on resources, instance states, state changes."""
from ec2soap.wire.shapes import ListOf, Struct, field_

RESOURCE_TAG = Struct("ResourceTagSetItemType", (field_("key"), field_("value")))
RESOURCE_TAG_SET = ListOf("ResourceTagSetType", RESOURCE_TAG)
INSTANCE_STATE = Struct("InstanceStateType", (field_("code", "int"), field_("name")))
STATE_REASON = Struct("StateReasonType", (field_("code"), field_("message")))
