"""Operators' commands: `ec2soap user register|list|remove`, `ec2soap offering map|unmap|list`, `ec2soap config
check`, `ec2soap cloudstack check` (ec2soap/contract.py). They run outside the reactor: SQL inline (Store.run_sync), CloudStack with blocking requests.

CloudStack requests are signed with the client's own helpers (sign_request, form_body) and read with its own
parser; with no CloudStack URL the built-in simulator is asked in-process, on the same database `serve` uses.
Never prints or logs a secret key.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timezone
from typing import Any, Callable

__all__ = ["add_parsers", "run", "config_check", "cloudstack_check", "BlockingCloudStack", "user_register",
           "user_list", "user_remove", "offering_map", "offering_unmap", "offering_list"]

# A CLI check should not hang for the gateway's full CloudStack timeout.
_CHECK_TIMEOUT = 10.0


# -- argument parsing (called from cli.build_parser) --------------------------------------------------------------

def add_parsers(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The `user` and `offering` command groups."""
    def with_cloudstack(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        common(parser)
        parser.add_argument("--cloudstack-url", metavar="URL", help="CloudStack API URL (default: the config's)")
        return parser

    user = commands.add_parser("user", help="users registered with the gateway (keys stored encrypted)")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION")
    user_commands.required = True
    register = with_cloudstack(user_commands.add_parser(
        "register", help="check a user's keys against CloudStack, then store them (like SetUserKeys)"))
    register.add_argument("--access-key", required=True, metavar="KEY", help="the user's CloudStack API key")
    register.add_argument("--secret-key", required=True, metavar="SECRET", help="the user's CloudStack secret key")
    common(user_commands.add_parser("list", help="registered access keys and whether each has a certificate"))
    remove = user_commands.add_parser("remove", help="forget a registered user (and its certificate)")
    common(remove)
    remove.add_argument("--access-key", required=True, metavar="KEY")

    offering = commands.add_parser("offering", help="the EC2 instance type → CloudStack compute offering map")
    offering_commands = offering.add_subparsers(dest="offering_command", metavar="ACTION")
    offering_commands.required = True
    mapping = with_cloudstack(offering_commands.add_parser(
        "map", help="run instances of an EC2 type on a CloudStack compute offering (name or uuid)"))
    mapping.add_argument("instance_type", metavar="TYPE", help="EC2 instance type, e.g. m1.small")
    mapping.add_argument("offering", metavar="OFFERING", help="CloudStack compute offering name or uuid")
    mapping.add_argument("--no-check", action="store_true",
                         help="store the mapping without asking CloudStack whether the offering exists")
    unmap = offering_commands.add_parser("unmap", help="remove a type's mapping (back to the name match)")
    common(unmap)
    unmap.add_argument("instance_type", metavar="TYPE")
    common(offering_commands.add_parser("list", help="the mappings"))

    cloudstack = commands.add_parser("cloudstack", help="the CloudStack the gateway runs on")
    cloudstack_commands = cloudstack.add_subparsers(dest="cloudstack_command", metavar="ACTION")
    cloudstack_commands.required = True
    check = with_cloudstack(cloudstack_commands.add_parser(
        "check", help="check that CloudStack offers what the gateway needs (commands, zones, VPC offerings, "
                      "ACL lists, settings); exit 1 when something is missing"))
    check.add_argument("--access-key", metavar="KEY",
                       help="CloudStack API key to check with (default: the config's admin keys)")
    check.add_argument("--secret-key", metavar="SECRET", help="its secret key")
    check.add_argument("--may-create", action="store_true",
                       help="also create a VPC, a network ACL list and a tier, then delete them again")
    check.add_argument("--without-vpc", action="store_true",
                       help="this cloud serves EC2-Classic only: the Advanced-zone items are notes, not required")


def run(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch `user ...`, `offering ...` and `cloudstack check`."""
    if args.command == "cloudstack":
        return cloudstack_check(settings, args.access_key, args.secret_key, url=args.cloudstack_url,
                                may_create=args.may_create, need_vpc=not args.without_vpc)
    if args.command == "user":
        if args.user_command == "register":
            return user_register(settings, args.access_key, args.secret_key)
        if args.user_command == "remove":
            return user_remove(settings, args.access_key)
        return user_list(settings)
    if args.offering_command == "map":
        return offering_map(settings, args.instance_type, args.offering, check=not args.no_check)
    if args.offering_command == "unmap":
        return offering_unmap(settings, args.instance_type)
    return offering_list(settings)


# -- plumbing -----------------------------------------------------------------------------------------------------

class _InlineStore:
    """The store's `run` coroutine, inline: lets Credentials and OfferingMap run under asyncio.run."""

    def __init__(self, store: Any):
        self._store = store

    async def run(self, fn: Any, *args: Any) -> Any:
        return self._store.run_sync(fn, *args)


def _fail(message: str) -> int:
    print(f"ec2soap: {message}", file=sys.stderr)
    return 1


def _open_store(settings: Any) -> Any:
    from ec2soap.server import open_store

    return open_store(settings)


class BlockingCloudStack:
    """One CloudStack user's API, blocking: over HTTP (requests) at URL, or in-process on SIMULATOR.

    `call(command, **params)` → the inner response object; `list(command, **params)` → the items of one page.
    Failures are the client's CloudStackError subclasses."""

    def __init__(self, api_key: str, secret_key: str, *, url: str = "", simulator: Any = None,
                 timeout: float = _CHECK_TIMEOUT):
        self.api_key, self._secret_key = api_key, secret_key
        self.url, self.simulator, self.timeout = url, simulator, timeout

    def call(self, command: str, **params: Any) -> dict:
        from ec2soap.cloudstack.client import form_body, parse_response, sign_request
        from ec2soap.cloudstack.errors import CloudStackUnavailable

        wire = sign_request(command, params, self.api_key, self._secret_key)
        if self.simulator is not None:
            status, body = self.simulator.handle(wire)
            return parse_response(command, status, body)
        import requests

        try:
            response = requests.post(self.url, data=form_body(wire), timeout=self.timeout,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        except requests.RequestException as exc:
            raise CloudStackUnavailable(f"{command}: cannot reach {self.url}: {exc.__class__.__name__}",
                                        command=command) from None
        return parse_response(command, response.status_code, response.content)

    def list(self, command: str, **params: Any) -> list:
        from ec2soap.cloudstack.client import list_page

        return list_page(command, self.call(command, **params))[1]


def _simulator(settings: Any, store: Any) -> Any:
    """The built-in simulator on the gateway's database, seeded as `serve` seeds it (idempotent)."""
    from ec2soap.cloudstack.simulator import Simulator
    from ec2soap.server import simulator_config

    simulator = Simulator(store, simulator_config(settings))
    simulator.admin_user = simulator.seed()["admin"]
    return simulator


def _cloud(settings: Any, store: Any, api_key: str, secret_key: str) -> BlockingCloudStack:
    timeout = min(settings.cloudstack_timeout, _CHECK_TIMEOUT)
    if settings.embedded:
        return BlockingCloudStack(api_key, secret_key, simulator=_simulator(settings, store), timeout=timeout)
    return BlockingCloudStack(api_key, secret_key, url=settings.cloudstack_url, timeout=timeout)


def _admin_cloud(settings: Any, store: Any) -> BlockingCloudStack | None:
    """A CloudStack client with admin keys: the simulator's admin when embedded, else the configured keys."""
    if settings.embedded:
        simulator = _simulator(settings, store)
        admin = simulator.admin_user
        return BlockingCloudStack(admin["apikey"], admin["secretkey"], simulator=simulator)
    if settings.cloudstack_admin_api_key and settings.cloudstack_admin_secret_key:
        return _cloud(settings, store, settings.cloudstack_admin_api_key, settings.cloudstack_admin_secret_key)
    return None


# -- user ---------------------------------------------------------------------------------------------------------

def user_register(settings: Any, access_key: str, secret_key: str) -> int:
    """Check the keys with CloudStack (listAccounts with them, as SetUserKeys does), then store them encrypted."""
    from ec2soap.auth.credentials import Credentials, load_secret_box
    from ec2soap.cloudstack.errors import CloudStackAuthError, CloudStackError

    store = _open_store(settings)
    try:
        try:
            _cloud(settings, store, access_key, secret_key).list("listAccounts")
        except CloudStackAuthError:
            return _fail(f"CloudStack did not accept the keys of {access_key}; nothing was stored")
        except CloudStackError as exc:
            return _fail(f"CloudStack could not be asked to check the keys ({exc}); nothing was stored")
        credentials = Credentials(_InlineStore(store), load_secret_box(settings.encryption_key, settings.data_dir))
        asyncio.run(credentials.register(access_key, secret_key))
    finally:
        store.close()
    print(f"user {access_key} registered")
    return 0


def user_list(settings: Any) -> int:
    """Access keys, certificate yes/no and when registered. Never a secret."""
    from ec2soap.auth.credentials import Credentials

    store = _open_store(settings)
    try:
        rows = asyncio.run(Credentials(_InlineStore(store), box=None).registered())
    finally:
        store.close()
    if not rows:
        print("no registered users (callers may still be found through CloudStack with the admin keys)")
        return 0
    width = max(len("ACCESS KEY"), *(len(row.access_key) for row in rows))
    print(f"{'ACCESS KEY':<{width}}  CERTIFICATE  REGISTERED")
    for row in rows:
        when = datetime.fromtimestamp(row.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") \
            if row.created else "-"
        print(f"{row.access_key:<{width}}  {'yes' if row.cert_unique_id else 'no':<11}  {when}")
    return 0


def user_remove(settings: Any, access_key: str) -> int:
    from ec2soap.auth.credentials import Credentials

    store = _open_store(settings)
    try:
        removed = asyncio.run(Credentials(_InlineStore(store), box=None).remove(access_key))
    finally:
        store.close()
    if not removed:
        return _fail(f"access key {access_key} is not registered")
    print(f"user {access_key} removed (running gateways forget its cached secret within minutes)")
    return 0


# -- offering -----------------------------------------------------------------------------------------------------

def _offering_exists(cloud: BlockingCloudStack, offering: str) -> bool:
    import re

    from ec2soap.cloudstack.errors import CloudStackApiError

    by_id = re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", offering) is not None
    try:
        found = cloud.list("listServiceOfferings", **({"id": offering} if by_id else {"name": offering}))
    except CloudStackApiError as exc:
        if exc.errorcode != 431:
            raise
        found = []
    return any(offering in (o.get("id"), o.get("name")) for o in found)


def offering_map(settings: Any, instance_type: str, offering: str, *, check: bool = True) -> int:
    """Map an EC2 type to a compute offering; the offering is looked up in CloudStack first unless told not to."""
    from ec2soap.cloudstack.errors import CloudStackError
    from ec2soap.store.offerings import OfferingMap

    if not instance_type.strip() or len(instance_type) > 64:
        return _fail("the instance type must be 1 to 64 characters")
    store = _open_store(settings)
    try:
        if check:
            cloud = _admin_cloud(settings, store)
            if cloud is None:
                print("note: no CloudStack admin keys configured: the offering was not looked up")
            else:
                try:
                    if not _offering_exists(cloud, offering):
                        return _fail(f"CloudStack has no compute offering named {offering!r} "
                                     f"(use --no-check to store it anyway)")
                except CloudStackError as exc:
                    return _fail(f"cannot look the offering up in CloudStack ({exc}); use --no-check to store "
                                 f"it anyway")
        asyncio.run(OfferingMap(_InlineStore(store)).set(instance_type, offering))
    finally:
        store.close()
    print(f"{instance_type} → {offering}")
    return 0


def offering_unmap(settings: Any, instance_type: str) -> int:
    from ec2soap.store.offerings import OfferingMap

    store = _open_store(settings)
    try:
        removed = asyncio.run(OfferingMap(_InlineStore(store)).remove(instance_type))
    finally:
        store.close()
    if not removed:
        return _fail(f"{instance_type} is not mapped")
    print(f"{instance_type} unmapped (instances of this type use the offering of the same name)")
    return 0


def offering_list(settings: Any) -> int:
    from ec2soap.store.offerings import OfferingMap

    store = _open_store(settings)
    try:
        table = asyncio.run(OfferingMap(_InlineStore(store)).mapping())
    finally:
        store.close()
    if not table:
        print("no mappings: each EC2 instance type runs on the CloudStack offering of the same name")
        return 0
    width = max(len("TYPE"), *(len(t) for t in table))
    print(f"{'TYPE':<{width}}  OFFERING")
    for ec2_type, target in table.items():
        print(f"{ec2_type:<{width}}  {target}")
    return 0


# -- cloudstack check ---------------------------------------------------------------------------------------------

def cloudstack_check(settings: Any, access_key: str | None, secret_key: str | None, *, url: str | None = None,
                     may_create: bool = False, need_vpc: bool = True) -> int:
    """`ec2soap cloudstack check`: contract.check_cloudstack with the given keys (else the config's admin keys)
    at URL (else the config's CloudStack, else the embedded simulator with its admin). Exit 1 when anything
    required is missing."""
    from ec2soap.contract import check_cloudstack

    if bool(access_key) != bool(secret_key):
        return _fail("give both --access-key and --secret-key, or neither")
    url = url or settings.cloudstack_url
    timeout = min(settings.cloudstack_timeout, _CHECK_TIMEOUT)
    store = None
    if url:
        key = access_key or settings.cloudstack_admin_api_key
        secret = secret_key or settings.cloudstack_admin_secret_key
        if not key or not secret:
            return _fail("no keys: give --access-key and --secret-key (or set cloudstack_admin_api_key and "
                         "cloudstack_admin_secret_key)")
        cloud = BlockingCloudStack(key, secret, url=url, timeout=timeout)
        where = url
    else:
        store = _open_store(settings)
        simulator = _simulator(settings, store)
        key = access_key or simulator.admin_user["apikey"]
        secret = secret_key or simulator.admin_user["secretkey"]
        cloud = BlockingCloudStack(key, secret, simulator=simulator, timeout=timeout)
        where = "the embedded simulator"
    try:
        report = check_cloudstack(cloud, key, where=where, may_create=may_create, need_vpc=need_vpc,
                                  job_wait=settings.job_wait)
    finally:
        if store is not None:
            store.close()
    if report.missing:
        print(f"{report.missing} required item{'s' if report.missing > 1 else ''} missing")
        return 1
    print("CloudStack offers what the gateway needs")
    return 0


# -- config check -------------------------------------------------------------------------------------------------

class _Report:
    def __init__(self) -> None:
        self.problems = 0

    def ok(self, text: str) -> None:
        print(f"ok       {text}")

    def note(self, text: str) -> None:
        print(f"note     {text}")

    def problem(self, text: str) -> None:
        self.problems += 1
        print(f"PROBLEM  {text}")


def config_check(load: Callable[[list[str]], Any]) -> int:
    """`ec2soap config check`: every problem on its own line, exit 1 when there is any.

    LOAD(unknown_keys) builds the Settings, collecting unknown config-file keys instead of failing on them."""
    from ec2soap.config import SettingsError

    report = _Report()
    unknown: list[str] = []
    try:
        settings = load(unknown)
    except SettingsError as exc:
        report.problem(str(exc))
        print("1 problem")
        return 1
    for key in unknown:
        report.problem(f"config file: unknown key {key!r} (see `ec2soap config keys`)")
    _check_tls(settings, report)
    store = _check_database(settings, report)
    try:
        _check_cloudstack(settings, store, report)
    finally:
        if store is not None:
            store.close()
    if report.problems:
        print(f"{report.problems} problem{'s' if report.problems > 1 else ''}")
        return 1
    print("configuration OK")
    return 0


def _check_tls(settings: Any, report: _Report) -> None:
    """HTTPS: the certificate and key load and belong together; trusted proxies, if any, are listed."""
    if settings.tls_port >= 0:
        from ec2soap.tls import check, warnings

        usable, text = check(settings.tls_cert, settings.tls_key)
        (report.ok if usable else report.problem)(text)
        for warning in warnings(settings.tls_cert, settings.tls_key):
            report.note(warning)
    elif settings.tls_cert or settings.tls_key:
        report.note("tls_cert / tls_key are set but tls_port is -1: HTTPS is off")
    if settings.trusted_proxies:
        report.ok(f"X-Forwarded-* / Forwarded believed from {settings.trusted_proxies} only")


def _check_database(settings: Any, report: _Report) -> Any:
    from ec2soap.ops import ping_sync
    from ec2soap.store import Store
    from ec2soap.store.db import connection_url_for_log, head_revision, schema_revision

    shown = connection_url_for_log(settings.effective_database_url)
    try:
        store = Store(settings.effective_database_url, 1)
        store.run_sync(ping_sync)
    except Exception as exc:
        report.problem(f"database {shown} cannot be used: {exc.__class__.__name__}: {_first_line(exc)}")
        return None
    try:
        current, head = schema_revision(store.engine), head_revision()
    except Exception as exc:
        report.problem(f"database {shown}: cannot read the schema revision: {_first_line(exc)}")
        return store
    if current == head:
        report.ok(f"database {shown} answers, schema at {head}")
    elif not store.has_tables():
        report.ok(f"database {shown} answers; it is empty (`ec2soap serve` or `ec2soap db upgrade` creates the "
                  f"schema)")
    else:
        report.problem(f"database {shown} is at schema {current or 'nothing'}, this version needs {head}: run "
                       f"`ec2soap db upgrade`")
    return store


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def _check_cloudstack(settings: Any, store: Any, report: _Report) -> None:
    from ec2soap.cloudstack.admin import own_account, is_root_admin
    from ec2soap.cloudstack.errors import CloudStackAuthError, CloudStackError

    if settings.embedded:
        report.note("no cloudstack_url: `ec2soap serve` will run the embedded CloudStack simulator (on this "
                    "database, with its own admin)")
        return
    key, secret = settings.cloudstack_admin_api_key, settings.cloudstack_admin_secret_key
    if not key and not secret:
        report.problem("cloudstack_admin_api_key and cloudstack_admin_secret_key are not set: callers must "
                       "register their keys first, and enable.ec2.api / enable.s3.api cannot be read")
    elif not key or not secret:
        report.problem("only one of cloudstack_admin_api_key and cloudstack_admin_secret_key is set")
    has_admin_keys = bool(key and secret)
    cloud = BlockingCloudStack(key if has_admin_keys else "", secret if has_admin_keys else "",
                               url=settings.cloudstack_url,
                               timeout=min(settings.cloudstack_timeout, _CHECK_TIMEOUT))
    try:
        cloud.call("listCapabilities")
    except CloudStackAuthError:
        if has_admin_keys:
            report.problem(f"CloudStack at {settings.cloudstack_url} answers but refuses the admin keys "
                           f"(wrong key or secret, or a disabled user)")
        else:
            report.ok(f"CloudStack at {settings.cloudstack_url} answers")
        return
    except CloudStackError as exc:
        report.problem(f"CloudStack at {settings.cloudstack_url} cannot be reached: {exc}")
        return
    report.ok(f"CloudStack at {settings.cloudstack_url} answers")
    if not has_admin_keys:
        return
    try:
        accounts = cloud.list("listAccounts")
    except CloudStackError as exc:
        report.problem(f"listAccounts with the admin keys failed: {exc}")
        return
    if not is_root_admin(accounts, key):
        account = own_account(accounts, key) or {}
        report.problem(f"the admin keys belong to account {account.get('name', '?')!r} of type "
                       f"{account.get('accounttype', '?')}, not a root admin (type 1)")
        return
    report.ok("the admin keys belong to a root admin")
    _show_switches(settings, cloud, report)


def _show_switches(settings: Any, cloud: BlockingCloudStack, report: _Report) -> None:
    from ec2soap.cloudstack.errors import CloudStackError
    from ec2soap.switches import SETTING_NAMES

    for service, name in SETTING_NAMES.items():
        override = getattr(settings, f"enable_{service}")
        try:
            rows = [r for r in cloud.list("listConfigurations", name=name) if r.get("name") == name]
        except CloudStackError as exc:
            report.problem(f"cannot read {name} from CloudStack: {exc}")
            continue
        value = rows[0].get("value") if rows else "(not set: the service stays on)"
        forced = f"; overridden by enable_{service} = {str(override).lower()}" if override is not None else ""
        report.note(f"CloudStack's {name} = {value}{forced}")
