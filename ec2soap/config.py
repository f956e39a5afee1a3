"""Settings: one frozen object, built once at start-up from a config file, EC2SOAP_* variables and flags.

Precedence, lowest first: built-in defaults, the TOML config file, the environment, command-line flags.
Every key is documented in SETTINGS_DOC (printed by `ec2soap config keys` and copied into README.md).
Nothing here reads the environment at import time.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from ec2soap.origin import parse_networks

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["Settings", "SettingsError", "load_settings", "SETTINGS_DOC", "SECRET_SETTINGS", "default_data_dir"]


class SettingsError(ValueError):
    """A config file, variable or flag that cannot be used; the message names it."""


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "ec2soap")


def _opt_bool(doc: str) -> Any:
    return field(default=None, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Read once; passed down explicitly."""

    host: str = field(default="0.0.0.0", metadata={"doc": "interface the gateway (and simulator) listen on"})
    port: int = field(default=7080, metadata={"doc": "gateway port: EC2 Query/SOAP and S3 (0 picks a free port, "
                                                          "-1 disables: HTTPS only)"})
    tls_port: int = field(default=-1, metadata={
        "doc": "gateway HTTPS port (needs tls_cert and tls_key; 0 picks a free port, -1 disables); "
               "port -1 leaves only HTTPS on"})
    tls_cert: str = field(default="", metadata={
        "doc": "PEM file with the HTTPS server certificate, then any intermediate certificates"})
    tls_key: str = field(default="", metadata={"doc": "PEM file with the private key of tls_cert (unencrypted)"})
    trusted_proxies: str = field(default="", metadata={
        "doc": "addresses or CIDR networks of reverse proxies whose X-Forwarded-For/-Proto/-Host and Forwarded "
               "headers are believed (comma-separated or a TOML list); empty: those headers are ignored"})
    health_token: str = field(default="", metadata={
        "doc": "token that unlocks GET /health's details (header X-Health-Token); empty: only ok/error per "
               "component, details in the log", "secret": True})
    public_host: str = field(default="", metadata={
        "doc": "host[:port] clients use to reach us (WSDL address, S3 virtual-host buckets); default: the request's Host"})
    data_dir: str = field(default_factory=default_data_dir, metadata={
        "doc": "directory for the SQLite database, S3 object bytes and demo-credentials"})
    database_url: str = field(default="", metadata={
        "doc": "SQLAlchemy URL; empty means sqlite:///DATA_DIR/ec2soap.db. "
               "PostgreSQL: postgresql+psycopg://user@host/db, MariaDB/MySQL: mysql+pymysql://user@host/db"})
    db_threads: int = field(default=8, metadata={"doc": "size of the bounded thread pool for SQL and file work"})
    cloudstack_url: str = field(default="", metadata={
        "doc": "CloudStack API URL (http://host:8080/client/api); empty runs the built-in simulator"})
    cloudstack_admin_api_key: str = field(default="", metadata={
        "doc": "optional CloudStack admin API key: lets callers use their keys without registering"})
    cloudstack_admin_secret_key: str = field(default="", metadata={"doc": "secret key for cloudstack_admin_api_key"})
    cloudstack_timeout: float = field(default=30.0, metadata={
        "doc": "seconds to wait for one CloudStack HTTP response before failing the call"})
    job_wait: float = field(default=120.0, metadata={
        "doc": "seconds to wait for a CloudStack async job before answering with an error"})
    job_poll_interval: float = field(default=2.0, metadata={"doc": "seconds between queryAsyncJobResult polls"})
    simulator_port: int = field(default=8080, metadata={
        "doc": "port of the built-in simulator's signed API (/client/api); 0 picks a free port, -1 disables"})
    integration_port: int = field(default=8096, metadata={
        "doc": "port of the simulator's unauthenticated integration API; 0 picks a free port, -1 disables"})
    simulator_over_http: bool = field(default=False, metadata={
        "doc": "the gateway reaches its built-in simulator over loopback HTTP on simulator_port, as it would a real "
               "CloudStack; false (the default) hands it the same signed requests in-process and reads the same "
               "JSON bytes back, without two HTTP exchanges per call"})
    simulator_job_seconds: float = field(default=2.0, metadata={
        "doc": "how long the simulator's async jobs (deploy, stop, snapshot, ...) take"})
    simulator_expunge_seconds: float = field(default=86400.0, metadata={
        "doc": "how long a destroyed VM stays Destroyed in the simulator before it is expunged (its expunge.delay "
               "setting; CloudStack's default is one day)"})
    simulator_advanced_zone: bool = field(default=True, metadata={
        "doc": "seed an Advanced zone (zone2: VPCs, isolated networks) in the built-in simulator beside the Basic zone1; "
               "EC2-VPC actions (CreateVpc, CreateSubnet, ...) need it; false leaves a Basic zone only"})
    region: str = field(default="cloudstack", metadata={
        "doc": "the EC2 region name this gateway reports (DescribeRegions; clients' region setting)"})
    clock_skew: float = field(default=900.0, metadata={
        "doc": "seconds a signed request's timestamp may differ from our clock (EC2 and S3)"})
    encryption_key: str = field(default="", metadata={
        "doc": "Fernet key encrypting registered secrets at rest; empty uses DATA_DIR/encryption.key "
               "(share it between gateways that share a database)"})
    enable_ec2: bool | None = _opt_bool("force the EC2 API on/off; unset follows CloudStack's enable.ec2.api")
    enable_s3: bool | None = _opt_bool("force the S3 API on/off; unset follows CloudStack's enable.s3.api")
    switch_refresh: float = field(default=60.0, metadata={
        "doc": "seconds between reads of CloudStack's enable.ec2.api and enable.s3.api (no restart needed)"})
    workers: int = field(default=1, metadata={
        "doc": "gateway processes sharing the listening port (serve); each opens its own database connections"})
    shutdown_grace: float = field(default=30.0, metadata={
        "doc": "seconds in-flight requests get to finish after SIGTERM; uploads still arriving are cut at once"})
    s3_lifecycle_interval: float = field(default=3600.0, metadata={
        "doc": "seconds between S3 lifecycle sweeps in each gateway process (expirations, noncurrent versions, "
               "expired delete markers, stale multipart uploads); 0 turns the sweeper off"})
    log_level: str = field(default="INFO", metadata={"doc": "DEBUG, INFO, WARNING or ERROR"})

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.data_dir) / "ec2soap.db")

    @property
    def embedded(self) -> bool:
        """True when no CloudStack is configured and the built-in simulator is the backend."""
        return not self.cloudstack_url

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


SETTINGS_DOC: dict[str, str] = {f.name: f.metadata["doc"] for f in fields(Settings)}
# Settings whose values are never printed or logged (`ec2soap config show` masks them).
SECRET_SETTINGS = frozenset(f.name for f in fields(Settings) if f.metadata.get("secret") or "secret" in f.name
                            or f.name == "encryption_key")
_FIELDS = {f.name: f for f in fields(Settings)}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(name: str, value: Any, origin: str) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind in ("bool", "bool | None"):
            if kind == "bool | None" and (value is None or value == ""):
                return None
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if name == "trusted_proxies" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ", ".join(value)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{origin}: {name} must be {kind.replace(' | None', '')}, not {value!r}") from None


def _from_file(path: str, unknown_keys: list[str] | None = None) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown and unknown_keys is None:
        raise SettingsError(f"config file {path}: unknown key(s) {', '.join(unknown)}")
    if unknown_keys is not None:
        unknown_keys.extend(unknown)
    return {k: _convert(k, v, f"config file {path}") for k, v in data.items() if k in _FIELDS}


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for name in _FIELDS:
        var = "EC2SOAP_" + name.upper()
        if var in environ:
            out[name] = _convert(name, environ[var], f"environment variable {var}")
    return out


def load_settings(config_file: str | None = None, environ: Mapping[str, str] | None = None, *,
                  unknown_keys: list[str] | None = None, **flags: Any) -> Settings:
    """Defaults < config file < EC2SOAP_* environment < flags (flags that are None are not set).

    The config file may also be named by EC2SOAP_CONFIG. Unknown keys in it are an error, unless a list is
    passed as UNKNOWN_KEYS: then they are added to it and skipped (`ec2soap config check` reports them)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or environ.get("EC2SOAP_CONFIG")
    if config_file:
        values.update(_from_file(config_file, unknown_keys))
    values.update(_from_env(environ))
    for name, value in flags.items():
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name}")
        if value is not None:
            values[name] = _convert(name, value, f"option --{name.replace('_', '-')}")
    settings = Settings(**values)
    for name in ("port", "tls_port"):
        if not -1 <= getattr(settings, name) <= 65535:
            raise SettingsError(f"{name} must be between 0 and 65535 (or -1: off), not {getattr(settings, name)}")
    if settings.port < 0 and settings.tls_port < 0:
        raise SettingsError("port and tls_port are both -1: the gateway would listen nowhere")
    if settings.tls_port >= 0 and not (settings.tls_cert and settings.tls_key):
        raise SettingsError("tls_port needs tls_cert (the certificate, PEM) and tls_key (its private key, PEM)")
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise SettingsError(f"trusted_proxies: {exc}") from None
    if settings.db_threads < 1:
        raise SettingsError("db_threads must be at least 1")
    if settings.job_wait <= 0 or settings.job_poll_interval <= 0:
        raise SettingsError("job_wait and job_poll_interval must be positive")
    if settings.switch_refresh <= 0:
        raise SettingsError("switch_refresh must be positive")
    if settings.workers < 1:
        raise SettingsError("workers must be at least 1")
    if settings.shutdown_grace < 0:
        raise SettingsError("shutdown_grace must not be negative")
    if settings.s3_lifecycle_interval < 0:
        raise SettingsError("s3_lifecycle_interval must not be negative (0 turns the sweeper off)")
    return settings
