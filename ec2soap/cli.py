"""The `ec2soap` command: serve, simulator, db upgrade, config keys, cert add/remove.

Parses arguments, builds the one Settings object and hands it to server.py. Nothing else happens here.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from ec2soap import __version__, admin
from ec2soap.argv import glue_values
from ec2soap.config import SECRET_SETTINGS, SETTINGS_DOC, Settings, SettingsError, load_settings

__all__ = ["main", "build_parser"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config file (also EC2SOAP_CONFIG)")
    parser.add_argument("--data-dir", metavar="DIR", help=SETTINGS_DOC["data_dir"])
    parser.add_argument("--database-url", metavar="URL", help=SETTINGS_DOC["database_url"])
    parser.add_argument("--log-level", metavar="LEVEL", help=SETTINGS_DOC["log_level"])


def _listeners(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", metavar="ADDR", help=SETTINGS_DOC["host"])
    parser.add_argument("--simulator-port", type=int, metavar="PORT", help=SETTINGS_DOC["simulator_port"])
    parser.add_argument("--integration-port", type=int, metavar="PORT", help=SETTINGS_DOC["integration_port"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ec2soap", description="EC2 and S3 compatible gateway for CloudStack")
    parser.add_argument("--version", action="version", version=f"ec2soap {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    serve = commands.add_parser("serve", help="run the gateway (with the built-in simulator when no CloudStack "
                                              "URL is set)")
    _common(serve)
    _listeners(serve)
    serve.add_argument("--port", type=int, metavar="PORT", help=SETTINGS_DOC["port"])
    serve.add_argument("--cloudstack-url", metavar="URL", help=SETTINGS_DOC["cloudstack_url"])
    serve.add_argument("--workers", type=int, metavar="N", help=SETTINGS_DOC["workers"])
    serve.add_argument("--tls-port", type=int, metavar="PORT", help=SETTINGS_DOC["tls_port"])
    serve.add_argument("--tls-cert", metavar="FILE", help=SETTINGS_DOC["tls_cert"])
    serve.add_argument("--tls-key", metavar="FILE", help=SETTINGS_DOC["tls_key"])
    serve.add_argument("--trusted-proxies", metavar="LIST", help=SETTINGS_DOC["trusted_proxies"])

    simulator = commands.add_parser("simulator", help="run only the built-in CloudStack simulator")
    _common(simulator)
    _listeners(simulator)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_commands.required = True
    upgrade = db_commands.add_parser("upgrade", help="create or migrate the schema to this version")
    _common(upgrade)
    db_commands.add_parser("revision", help="print the schema revision this version needs")

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION")
    config_commands.required = True
    config_commands.add_parser("keys", help="list every setting with its default and meaning")
    show = config_commands.add_parser("show", help="print the effective settings (secrets hidden)")
    _common(show)
    check = config_commands.add_parser("check", help="check the config: database, CloudStack, admin keys; "
                                                     "exit 1 on any problem")
    _common(check)
    check.add_argument("--cloudstack-url", metavar="URL", help=SETTINGS_DOC["cloudstack_url"])
    admin.add_parsers(commands, _common)

    cert = commands.add_parser("cert", help="X.509 certificates of users for EC2 over SOAP")
    cert_commands = cert.add_subparsers(dest="cert_command", metavar="ACTION")
    cert_commands.required = True
    cert_add = cert_commands.add_parser("add", help="register a certificate for a registered access key")
    cert_add.add_argument("--access-key", required=True, metavar="KEY")
    cert_add.add_argument("--cert", required=True, metavar="FILE", help="the certificate, PEM")
    cert_remove = cert_commands.add_parser("remove", help="forget an access key's certificate")
    cert_remove.add_argument("--access-key", required=True, metavar="KEY")
    for sub in (cert_add, cert_remove):
        _common(sub)
    return parser


_FLAG_KEYS = ("data_dir", "database_url", "log_level", "host", "port", "cloudstack_url", "simulator_port",
              "integration_port", "workers", "tls_port", "tls_cert", "tls_key", "trusted_proxies")


def _settings(args: argparse.Namespace, unknown_keys: list[str] | None = None) -> Settings:
    flags = {key: getattr(args, key) for key in _FLAG_KEYS if hasattr(args, key)}
    return load_settings(getattr(args, "config", None), unknown_keys=unknown_keys, **flags)


def _config_keys() -> int:
    defaults = Settings()
    for name, doc in SETTINGS_DOC.items():
        default = getattr(defaults, name)
        shown = "(unset)" if default in (None, "") else repr(default)
        print(f"{name} = {shown}\n    EC2SOAP_{name.upper()}: {doc}")
    return 0


def _config_show(settings: Settings) -> int:
    for name in SETTINGS_DOC:
        value = getattr(settings, name)
        if name in SECRET_SETTINGS and value:
            value = "********"
        print(f"{name} = {value!r}")
    return 0


def _cert(args: argparse.Namespace, settings: Settings) -> int:
    from ec2soap import registration

    if args.cert_command == "remove":
        return registration.cert_remove(settings, args.access_key)
    try:
        with open(args.cert, encoding="utf-8", errors="replace") as handle:
            pem = handle.read()
    except OSError as exc:
        print(f"ec2soap: cannot read {args.cert}: {exc.strerror}", file=sys.stderr)
        return 1
    return registration.cert_add(settings, args.access_key, pem)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(glue_values(sys.argv[1:] if argv is None else argv))
    if args.command == "config" and args.config_command == "keys":
        return _config_keys()
    if args.command == "config" and args.config_command == "check":
        return admin.config_check(lambda unknown: _settings(args, unknown))
    if args.command == "db" and args.db_command == "revision":
        from ec2soap.store.db import head_revision

        print(head_revision())
        return 0
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"ec2soap: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=getattr(logging, settings.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if args.command == "config":
        return _config_show(settings)
    from ec2soap import server

    try:
        if args.command == "cert":
            return _cert(args, settings)
        if args.command in ("user", "offering", "cloudstack"):
            return admin.run(args, settings)
        if args.command == "db":
            return server.db_upgrade(settings)
        if args.command == "simulator":
            return server.run_simulator(settings)
        if settings.workers > 1:
            from ec2soap.workers import serve_workers

            return serve_workers(settings)
        return server.run(settings)
    except server.StartupError as exc:
        print(f"ec2soap: {exc}", file=sys.stderr)
        return 1

