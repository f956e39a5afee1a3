"""Images (AMIs = CloudStack templates): DescribeImages, CreateImage, RegisterImage, DeregisterImage and the image
attributes. Core: no Twisted, Spyne, lxml or SQL here.

An image's EC2 id (ami-…) is minted from the template uuid. Images are answered from listTemplates, which has one
item per template and zone; we show each template once. What registering needs to pick (format, zone, OS type,
hypervisor) lives in image_sources.py.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core import image_sources
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import GIB, Tag, caller_account, owner_id, parse_cs_date, tags_of
from ec2soap.core.tag_specs import TagPairs, TagSpecs, split_specs
from ec2soap.core.volumes import check_new_tags, tag_new
from ec2soap.errors import ERRORS

__all__ = ["Image", "BlockDeviceMapping", "EbsBlockDevice", "LaunchPermission", "AttributeValue",
           "ImageAttribute", "ImagePage", "IMAGE_FILTERS", "OPERATIONS"]

ROOT_DEVICE = "/dev/sda1"
# Owner aliases for the images the cloud operator publishes (featured templates).
_OPERATOR_ALIASES = ("amazon", "system")
_IMAGE_ATTRIBUTES = ("description", "kernel", "ramdisk", "launchPermission", "productCodes", "blockDeviceMapping")
_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")


@dataclass
class EbsBlockDevice:
    snapshot_id: str | None = None
    volume_size: int | None = None
    delete_on_termination: bool | None = None


@dataclass
class BlockDeviceMapping:
    device_name: str
    ebs: EbsBlockDevice | None = None


@dataclass
class Image:
    image_id: str
    image_location: str
    image_state: str
    image_owner_id: str
    is_public: bool
    architecture: str
    name: str
    description: str
    hypervisor: str
    image_type: str = "machine"
    platform: str | None = None
    image_owner_alias: str | None = None
    root_device_type: str = "ebs"
    root_device_name: str = ROOT_DEVICE
    block_device_mapping: list[BlockDeviceMapping] = field(default_factory=list)
    virtualization_type: str = "hvm"
    tags: list[Tag] = field(default_factory=list)
    creation_date: datetime | None = None
    # Where it came from (not on the wire): the template uuid, the owner's account name, featured or not.
    cs_id: str = ""
    account: str = ""
    featured: bool = False

    @property
    def tag_set(self) -> list[Tag] | None:
        return self.tags or None


@dataclass
class LaunchPermission:
    """One launch permission: a CloudStack account name (userId) or the group "all"."""
    user_id: str | None = None
    group: str | None = None


@dataclass
class AttributeValue:
    value: str | None = None


@dataclass
class ImageAttribute:
    """DescribeImageAttribute: the image id and exactly one of the attributes."""
    image_id: str
    launch_permission: list[LaunchPermission] | None = None
    product_codes: list[Any] | None = None
    kernel: AttributeValue | None = None
    ramdisk: AttributeValue | None = None
    description: AttributeValue | None = None
    block_device_mapping: list[BlockDeviceMapping] | None = None


@dataclass
class ImagePage:
    """A page of DescribeImages (MaxResults/NextToken, later API versions)."""
    images: list[Image]
    next_token: str | None = None

    def __iter__(self) -> Any:
        return iter(self.images)


IMAGE_FILTERS = {
    "architecture": lambda i: i.architecture,
    "description": lambda i: i.description,
    "hypervisor": lambda i: i.hypervisor,
    "image-id": lambda i: i.image_id,
    "image-type": lambda i: i.image_type,
    "is-public": lambda i: i.is_public,
    "name": lambda i: i.name,
    "owner-id": lambda i: i.image_owner_id,
    "owner-alias": lambda i: i.image_owner_alias,
    "platform": lambda i: i.platform,
    "root-device-name": lambda i: i.root_device_name,
    "root-device-type": lambda i: i.root_device_type,
    "state": lambda i: i.image_state,
    "virtualization-type": lambda i: i.virtualization_type,
    "block-device-mapping.device-name": lambda i: [m.device_name for m in i.block_device_mapping],
    "block-device-mapping.volume-size": lambda i: [m.ebs.volume_size for m in i.block_device_mapping if m.ebs],
}


# -- the templates RunInstances launches from -----------------------------------------------------------------------
# A ready template as one caller's listTemplates(executable, id) answered it, per CloudStack (the client's
# transport) for LAUNCH_TEMPLATE_SECONDS: RunInstances reads it on every launch, and nothing but a template's
# own writes change it. This process forgets a template as it writes it (deleteTemplate, updateTemplate,
# updateTemplatePermissions, for every caller); another process's or the operator's write is seen within the
# TTL, and a launch from a template deleted in between fails at deployVirtualMachine as InvalidAMIID.NotFound.
# A template still downloading (isready false) or not found is not kept, so it is found ready at once.
LAUNCH_TEMPLATE_SECONDS = 5.0
_LAUNCH_TEMPLATES: "weakref.WeakKeyDictionary[Any, dict[tuple[str, str], tuple[float, list[dict]]]]" = \
    weakref.WeakKeyDictionary()


def _template_cache(ctx: RequestContext) -> dict | None:
    transport = getattr(ctx.cloud, "transport", None)
    if transport is None:
        return None
    try:
        return _LAUNCH_TEMPLATES.setdefault(transport, {})
    except TypeError:  # not weakly referable: no cache
        return None


async def launch_templates(ctx: RequestContext, cs_id: str) -> list[dict]:
    """listTemplates(templatefilter=executable, id=CS_ID) as the caller, from the cache when a ready answer is
    younger than LAUNCH_TEMPLATE_SECONDS (every caller gets its own copies)."""
    cache = _template_cache(ctx)
    key = (str(getattr(ctx.cloud, "api_key", "")), cs_id)
    now = ctx.clock()
    found = cache.get(key) if cache is not None else None
    if found is not None and found[0] > now:
        return [dict(t) for t in found[1]]
    templates = await ctx.cloud.list_templates(templatefilter="executable", id=cs_id)
    if cache is not None and templates and all(t.get("isready", True) for t in templates):
        if len(cache) > 10000:  # many callers: start again rather than grow
            cache.clear()
        cache[key] = (now + LAUNCH_TEMPLATE_SECONDS, [dict(t) for t in templates])
    return templates


def forget_template(ctx: RequestContext, cs_id: str) -> None:
    """This process wrote template CS_ID: no caller launches from what was kept of it."""
    cache = _template_cache(ctx)
    if cache:
        for key in [k for k in cache if k[1] == cs_id]:
            cache.pop(key, None)


# -- CloudStack → EC2 ----------------------------------------------------------------------------------------------
def _architecture(cs: dict) -> str:
    if int(cs.get("bits") or 64) == 32 or "i386" in str(cs.get("displaytext", "")):
        return "i386"
    return "x86_64"


def _image(cs: dict, image_id: str) -> Image:
    size = int(cs.get("size") or 0)
    featured = bool(cs.get("isfeatured") and cs.get("ispublic"))
    ostype = str(cs.get("ostypename") or "")
    return Image(
        image_id=image_id,
        image_location=cs.get("url") or f"{cs.get('account', '')}/{cs.get('name', '')}",
        image_state="available" if cs.get("isready") else "pending",
        image_owner_id=owner_id(cs),
        is_public=bool(cs.get("ispublic")),
        architecture=_architecture(cs),
        name=cs.get("name", ""),
        description=cs.get("displaytext", ""),
        hypervisor=str(cs.get("hypervisor") or "").lower(),
        platform="windows" if "windows" in ostype.lower() else None,
        image_owner_alias="amazon" if featured else None,
        block_device_mapping=[BlockDeviceMapping(ROOT_DEVICE, EbsBlockDevice(
            volume_size=max(1, -(-size // GIB)) if size else None, delete_on_termination=True))],
        virtualization_type="hvm" if cs.get("requireshvm", True) else "paravirtual",
        tags=tags_of(cs),
        creation_date=parse_cs_date(cs.get("created")),
        cs_id=cs["id"], account=cs.get("account", ""), featured=featured,
    )


async def _visible_templates(ctx: RequestContext) -> list[dict]:
    """Every template the caller may see, once each (listTemplates answers one item per template and zone).

    CloudStack quirk: `executable` is public + own (own ones even while they download), but not the templates
    shared with the caller, which only `sharedexecutable` lists. `featured` and `community` are subsets of
    `executable`, so the original's extra calls for them add nothing."""
    seen: dict[str, dict] = {}
    for template_filter in ("executable", "self", "sharedexecutable"):
        for cs in await ctx.cloud.list_templates(templatefilter=template_filter):
            seen.setdefault(cs["id"], cs)
    return list(seen.values())


async def _images(ctx: RequestContext, templates: Sequence[dict]) -> list[Image]:
    ids = await ctx.ids.to_ec2_many("image", [cs["id"] for cs in templates])
    return [_image(cs, ids[cs["id"]]) for cs in templates]


async def _template_for(ctx: RequestContext, image_id: str) -> tuple[str, dict]:
    """(cs uuid, the template as the caller sees it) for IMAGE_ID; InvalidAMIID.NotFound when the caller cannot
    see it."""
    cs_id = await ctx.ids.to_cloudstack("image", image_id) if image_id else None
    if cs_id is None:
        raise ERRORS["InvalidAMIID.NotFound"](image_id=image_id)
    try:
        found = await ctx.cloud.list_templates(templatefilter="executable", id=cs_id)
    except CloudStackApiError as exc:
        # 431: no such template; 531: someone else's private template. EC2 says NotFound to both.
        if exc.errorcode in (431, 531):
            raise ERRORS["InvalidAMIID.NotFound"](image_id=image_id) from None
        raise
    if not found:
        raise ERRORS["InvalidAMIID.NotFound"](image_id=image_id)
    return cs_id, found[0]


async def _own_template_for(ctx: RequestContext, image_id: str, action: str) -> tuple[str, dict]:
    cs_id, cs = await _template_for(ctx, image_id)
    account = await caller_account(ctx)
    if cs.get("accountid") != account.get("id"):
        # EC2 quirk: changing an image you may only launch is AuthFailure, not NotFound.
        raise ERRORS["AuthFailure"](f"Not authorized for image:{image_id} ({action} needs the image's owner)")
    return cs_id, cs


# -- DescribeImages --------------------------------------------------------------------------------------------------
def _owned_by(image: Image, owners: Sequence[str], me: dict) -> bool:
    for owner in owners:
        if owner == "self" and image.image_owner_id == me.get("id"):
            return True
        if owner in _OPERATOR_ALIASES and image.featured:
            return True
        if owner in (image.image_owner_id, image.account):
            return True
    return False


async def _executable_by(ctx: RequestContext, images: list[Image], who: Sequence[str], me: dict) -> list[Image]:
    """ExecutableBy: all = public; self = what the caller may launch (everything it sees); an account (name or
    owner id) = the caller's images that account may launch (public, or shared with it)."""
    if "self" in who:
        return images
    wanted_all = "all" in who
    others = [w for w in who if w != "all"]
    out = []
    for image in images:
        if image.is_public:
            out.append(image)
            continue
        if wanted_all or not others or image.image_owner_id != me.get("id"):
            continue
        permissions = await ctx.cloud.list_template_permissions(id=image.cs_id)
        names = set(permissions.get("account") or ())
        if names & set(others) or (me.get("id") in others and image.image_owner_id == me.get("id")):
            out.append(image)
    return out


async def _add_kept_tags(ctx: RequestContext, images: list[Image]) -> None:
    """The caller's own tags on other accounts' images, which the gateway keeps (CloudStack cannot: tags.py)."""
    if ctx.tags is None or not images:
        return
    kept: dict[str, list[Tag]] = {}
    for _type, cs_id, key, value in await ctx.tags.list(str((await caller_account(ctx)).get("id") or ""), "image"):
        kept.setdefault(cs_id, []).append(Tag(key, value))
    for image in images:
        if image.cs_id in kept:
            keys = {t.key for t in kept[image.cs_id]}
            image.tags = [t for t in image.tags if t.key not in keys] + kept[image.cs_id]


async def describe_images(ctx: RequestContext, image_ids: Sequence[str] = (), owners: Sequence[str] = (),
                          executable_by: Sequence[str] = (), filters: Sequence[Filter] = (),
                          max_results: int | None = None, next_token: str | None = None) -> ImagePage:
    """DescribeImages → listTemplates (templatefilter executable, self and sharedexecutable, one item per
    template). Unknown ids are InvalidAMIID.NotFound; CloudStack uuids are accepted as ids."""
    images = await _images(ctx, await _visible_templates(ctx))
    await _add_kept_tags(ctx, images)
    if image_ids:
        wanted = await ctx.ids.to_cloudstack_many("image", image_ids)
        by_cs = {i.cs_id: i for i in images}
        chosen = []
        for value in dict.fromkeys(image_ids):
            cs_id = wanted.get(value)
            if cs_id is None or cs_id not in by_cs:
                raise ERRORS["InvalidAMIID.NotFound"](image_id=value)
            chosen.append(by_cs[cs_id])
        images = chosen
    if owners or executable_by:
        me = await caller_account(ctx)
        if owners:
            images = [i for i in images if _owned_by(i, owners, me)]
        if executable_by:
            images = await _executable_by(ctx, images, executable_by, me)
    images = apply_filters(IMAGE_FILTERS, filters, images)
    page, token = paginate(images, max_results, next_token, minimum=5, maximum=1000)
    return ImagePage(page, token)


# -- CreateImage, RegisterImage, DeregisterImage -------------------------------------------------------------------
def _check_name(name: str | None) -> str:
    if not name:
        raise ERRORS["MissingParameter"](name="Name")
    if not _NAME.match(name):
        raise ERRORS["InvalidParameterValue"](
            detail=f"AMI names must be between 3 and 128 characters long, and may contain letters, numbers, "
                   f"'(', ')', '.', '-', '/', '_', '[', ']', '@', ''' and spaces. Given: {name}")
    return name


def _check_description(description: str | None) -> None:
    if description is not None and len(description) > 255:
        raise ERRORS["InvalidParameterValue"](detail="The description of an image is at most 255 characters long")


async def _check_unique_name(ctx: RequestContext, name: str) -> None:
    for cs in await ctx.cloud.list_templates(templatefilter="self", name=name):
        raise ERRORS["InvalidAMIName.Duplicate"](name=name, image_id=await ctx.ids.to_ec2("image", cs["id"]))


def _limit_error(exc: CloudStackApiError) -> Exception | None:
    if exc.errorcode == 535 or "limit" in exc.errortext.lower():
        return ERRORS["ResourceLimitExceeded"](detail="You have reached the maximum number of images (templates) "
                                                      "your account may own")
    return None


async def _instance(ctx: RequestContext, instance_id: str) -> dict:
    cs_id = await ctx.ids.to_cloudstack("instance", instance_id) if instance_id else None
    if cs_id is None:
        raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id)
    try:
        found = await ctx.cloud.list_virtual_machines(id=cs_id)
    except CloudStackApiError as exc:
        if exc.errorcode in (431, 531):
            raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id) from None
        raise
    if not found:
        raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id)
    return found[0]


# CreateImage's TagSpecification types in EC2, and why this cloud has no snapshot to tag.
_CREATE_IMAGE_TAG_TYPES = ("image", "snapshot")
_NO_IMAGE_SNAPSHOT = ("CreateImage makes a CloudStack template, which has no EBS snapshot behind it. Tag the "
                      "image instead.")


async def create_image(ctx: RequestContext, instance_id: str, name: str, description: str | None = None,
                       no_reboot: bool = False, tag_specifications: TagSpecs | None = None) -> str:
    """CreateImage → createTemplate from the instance's ROOT volume (OS type of its source template).

    CloudStack quirk: it makes a template of a ROOT volume only while the VM is Stopped. A running instance is
    stopped (waited for), the template job started, and the instance started again without waiting, as EC2's
    default reboot does. With NoReboot, EC2 would image the running instance untouched, which CloudStack cannot:
    that is IncorrectInstanceState rather than a reboot the caller asked us not to do. The answer comes at
    once with the new image pending; DescribeImages shows it available when the job is done. TagSpecification
    tags the image; snapshot tags are refused (there is no snapshot)."""
    _check_name(name)
    _check_description(description)
    new_tags = split_specs(tag_specifications or {}, _CREATE_IMAGE_TAG_TYPES, ("image",),
                           {"snapshot": _NO_IMAGE_SNAPSHOT}).get("image", [])
    vm = await _instance(ctx, instance_id)
    state = vm.get("state")
    if state not in ("Running", "Stopped"):
        raise ERRORS["IncorrectInstanceState"](instance_id=instance_id, action="imaged")
    if state == "Running" and no_reboot:
        raise ERRORS["IncorrectInstanceState"](
            f"The instance '{instance_id}' is running; this cloud can image an instance only while it is stopped, "
            f"so NoReboot cannot be honoured. Stop the instance first, or omit NoReboot.")
    await _check_unique_name(ctx, name)
    roots = await ctx.cloud.list_volumes(virtualmachineid=vm["id"], type="ROOT")
    if not roots:
        raise ERRORS["IncorrectInstanceState"](instance_id=instance_id, action="imaged")
    ostype_id = vm.get("guestosid") or vm.get("ostypeid") or await image_sources.default_os_type(ctx)
    if state == "Running":
        await ctx.cloud.stop_virtual_machine(id=vm["id"])
    try:
        started = await ctx.cloud.begin_create_template(volumeid=roots[0]["id"], name=name,
                                                          displaytext=description or name, ostypeid=ostype_id)
    except CloudStackApiError as exc:
        if state == "Running":
            await ctx.cloud.begin_start_virtual_machine(id=vm["id"])
        raise _limit_error(exc) or exc from None
    if state == "Running":
        await ctx.cloud.begin_start_virtual_machine(id=vm["id"])
    await tag_new(ctx, started["id"], "Template", new_tags)
    return await ctx.ids.to_ec2("image", started["id"])


async def register_image(ctx: RequestContext, name: str, image_location: str | None = None,
                         description: str | None = None, architecture: str | None = None,
                         tags: TagPairs = ()) -> str:
    """RegisterImage → registerTemplate from an http(s) URL (ImageLocation).

    Architecture may be the original's `format:zonename:ostypename:hypervisor` (any part may be empty or
    missing); otherwise the format comes from the URL's extension, the zone is the first available one, the OS
    type is the one Description/Name names (else "Other"), the hypervisor is the zone's."""
    _check_name(name)
    _check_description(description)
    new_tags = check_new_tags(tags)
    if not image_location:
        raise ERRORS["MissingParameter"](name="ImageLocation")
    if not re.match(r"^https?://[^/\s]+", image_location, re.IGNORECASE):
        raise ERRORS["InvalidParameterValue"](
            detail=f"ImageLocation must be the http(s) URL of an image file; got {image_location}")
    choice = await image_sources.choose(ctx, image_location, name, description, architecture)
    await _check_unique_name(ctx, name)
    try:
        made = await ctx.cloud.register_template(
            name=name, displaytext=description or name, url=image_location, zoneid=choice.zone_id,
            format=choice.format, hypervisor=choice.hypervisor, ostypeid=choice.ostype_id, bits=choice.bits)
    except CloudStackApiError as exc:
        limit = _limit_error(exc)
        if limit:
            raise limit from None
        if exc.errorcode == 431:
            raise ERRORS["InvalidParameterValue"](detail=f"The image cannot be registered: {exc.errortext}") \
                from None
        raise
    await tag_new(ctx, made[0]["id"], "Template", new_tags)
    return await ctx.ids.to_ec2("image", made[0]["id"])


async def deregister_image(ctx: RequestContext, image_id: str) -> bool:
    """DeregisterImage → deleteTemplate (forced: EC2 lets an AMI go while instances still run from it)."""
    cs_id, _ = await _own_template_for(ctx, image_id, "DeregisterImage")
    try:
        await ctx.cloud.delete_template(id=cs_id, forced=True)
    except CloudStackApiError as exc:
        forget_template(ctx, cs_id)
        if exc.errorcode == 431 and "already deleted" in exc.errortext:
            raise ERRORS["InvalidAMIID.NotFound"](image_id=image_id) from None
        raise
    forget_template(ctx, cs_id)
    return True


# -- image attributes ----------------------------------------------------------------------------------------------
async def describe_image_attribute(ctx: RequestContext, image_id: str, attribute: str) -> ImageAttribute:
    """DescribeImageAttribute → listTemplates (description) or listTemplatePermissions (launchPermission: public
    is group all, the others are CloudStack account names as userId). Kernel, ramdisk and product codes are
    empty; blockDeviceMapping is the root device."""
    if attribute not in _IMAGE_ATTRIBUTES:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")
    if attribute == "launchPermission":
        # EC2 quirk: who may launch an image is its owner's business; anyone else gets AuthFailure.
        cs_id, cs = await _own_template_for(ctx, image_id, "DescribeImageAttribute launchPermission")
    else:
        cs_id, cs = await _template_for(ctx, image_id)
    out = ImageAttribute(image_id=image_id)
    if attribute == "description":
        out.description = AttributeValue(cs.get("displaytext"))
    elif attribute == "launchPermission":
        permissions = await ctx.cloud.list_template_permissions(id=cs_id)
        items = [LaunchPermission(group="all")] if permissions.get("ispublic") else []
        items += [LaunchPermission(user_id=name) for name in permissions.get("account") or ()]
        out.launch_permission = items
    elif attribute == "productCodes":
        out.product_codes = []
    elif attribute == "blockDeviceMapping":
        out.block_device_mapping = _image(cs, image_id).block_device_mapping
    else:
        setattr(out, attribute, AttributeValue())
    return out


def _check_permissions(entries: Sequence[LaunchPermission]) -> None:
    for entry in entries:
        if entry.group is not None and entry.group != "all":
            raise ERRORS["InvalidAMIAttributeItemValue"](
                detail=f"Invalid attribute item value \"{entry.group}\" for group item type.")
        if entry.group is None and not entry.user_id:
            raise ERRORS["InvalidAMIAttributeItemValue"](detail="A launch permission needs a UserId or Group")


async def _update_permissions(ctx: RequestContext, cs_id: str, **params: Any) -> None:
    try:
        await ctx.cloud.update_template_permissions(id=cs_id, **params)
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "account not found" in exc.errortext:
            raise ERRORS["InvalidAMIAttributeItemValue"](
                detail="Invalid attribute item value for userId item type: no such account") from None
        if exc.errorcode == 431 and "private" in exc.errortext.lower():
            raise ERRORS["InvalidParameterValue"](detail="This cloud does not allow users to make images public") \
                from None
        raise
    finally:
        forget_template(ctx, cs_id)


async def modify_image_attribute(ctx: RequestContext, image_id: str, description: str | None = None,
                                 launch_permission_add: Sequence[LaunchPermission] = (),
                                 launch_permission_remove: Sequence[LaunchPermission] = (),
                                 product_codes: Sequence[str] = ()) -> bool:
    """ModifyImageAttribute → updateTemplate (displaytext) or updateTemplatePermissions (group all → ispublic,
    userId = a CloudStack account name → accounts with op add/remove)."""
    if product_codes:
        raise ERRORS["InvalidParameterValue"](detail="Product codes are not supported by this cloud")
    if description is None and not launch_permission_add and not launch_permission_remove:
        raise ERRORS["MissingParameter"](name="LaunchPermission or Description.Value")
    _check_description(description)
    _check_permissions([*launch_permission_add, *launch_permission_remove])
    cs_id, _ = await _own_template_for(ctx, image_id, "ModifyImageAttribute")
    if description is not None:
        await ctx.cloud.update_template(id=cs_id, displaytext=description)
        forget_template(ctx, cs_id)
    public = None
    if any(p.group == "all" for p in launch_permission_add):
        public = True
    if any(p.group == "all" for p in launch_permission_remove):
        public = False
    if public is not None:
        await _update_permissions(ctx, cs_id, ispublic=public)
    for op, entries in (("add", launch_permission_add), ("remove", launch_permission_remove)):
        names = await _account_names(ctx, [p.user_id for p in entries if p.group is None and p.user_id])
        if names:
            await _update_permissions(ctx, cs_id, accounts=names, op=op)
    return True


async def _account_names(ctx: RequestContext, users: Sequence[str]) -> list[str]:
    """UserId values → account names. A user id that is an owner id (the account's uuid) is resolved when the
    caller may list that account (its own, or any for admins); otherwise it is taken as an account name."""
    out = []
    for user in dict.fromkeys(users):
        name = user
        if re.match(r"^[0-9a-fA-F-]{36}$", user):
            try:
                found = await ctx.cloud.list_accounts(id=user, listall=True)
            except CloudStackApiError:
                found = []
            if found:
                name = found[0]["name"]
        out.append(name)
    return out


async def reset_image_attribute(ctx: RequestContext, image_id: str, attribute: str) -> bool:
    """ResetImageAttribute → updateTemplatePermissions op=reset, ispublic=false (launchPermission only)."""
    if attribute != "launchPermission":
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({attribute}) for parameter attribute is invalid. Only launchPermission can be reset.")
    cs_id, _ = await _own_template_for(ctx, image_id, "ResetImageAttribute")
    await _update_permissions(ctx, cs_id, op="reset", ispublic=False)
    return True


OPERATIONS: dict[str, Any] = {
    "DescribeImages": describe_images,
    "CreateImage": create_image,
    "RegisterImage": register_image,
    "DeregisterImage": deregister_image,
    "DescribeImageAttribute": describe_image_attribute,
    "ModifyImageAttribute": modify_image_attribute,
    "ResetImageAttribute": reset_image_attribute,
}
