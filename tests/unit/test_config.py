"""Settings: defaults < TOML file < EC2SOAP_* environment < flags, and clear errors for bad values."""
from pathlib import Path

import pytest

from ec2soap.config import SETTINGS_DOC, Settings, SettingsError, load_settings


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "ec2soap.toml"
    config.write_text('port = 7001\nhost = "127.0.0.2"\njob_wait = 30\nenable_s3 = false\n')
    settings = load_settings(str(config), environ={"EC2SOAP_PORT": "7002", "EC2SOAP_JOB_WAIT": "45.5"},
                             port=7003, host=None)
    assert settings.port == 7003                      # flag beats environment and file
    assert settings.job_wait == 45.5                  # environment beats file
    assert settings.host == "127.0.0.2"               # file beats default; a None flag is not set
    assert settings.enable_s3 is False and settings.enable_ec2 is None


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('cloudstack_url = "http://cs:8080/client/api"\n')
    settings = load_settings(environ={"EC2SOAP_CONFIG": str(config)})
    assert settings.cloudstack_url == "http://cs:8080/client/api"
    assert not settings.embedded


def test_defaults_are_the_embedded_service(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=str(tmp_path))
    assert settings.embedded and settings.port == 7080
    assert (settings.simulator_port, settings.integration_port) == (8080, 8096)
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/ec2soap.db"


@pytest.mark.parametrize("text, message", [
    ("port = 'x'\n", "port must be int"),
    ("nosuchkey = 1\n", "unknown key(s) nosuchkey"),
    ("port = [\n", "not valid TOML"),
])
def test_bad_config_file_is_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(SettingsError) as error:
        load_settings(str(config), environ={})
    assert message in str(error.value) and str(config) in str(error.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="EC2SOAP_ENABLE_EC2"):
        load_settings(environ={"EC2SOAP_ENABLE_EC2": "perhaps"})
    with pytest.raises(SettingsError, match="between 0 and 65535"):
        load_settings(environ={"EC2SOAP_PORT": "70000"})


def test_missing_config_file() -> None:
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings("/nonexistent/ec2soap.toml", environ={})


def test_settings_are_frozen_and_every_key_is_documented() -> None:
    settings = Settings()
    with pytest.raises(Exception):
        settings.port = 1  # type: ignore[misc]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for key, doc in SETTINGS_DOC.items():
        assert doc, key
        assert f"`EC2SOAP_{key.upper()}`" in readme, f"README.md does not document {key}"


def _readme_settings() -> dict[str, tuple[str, str, str]]:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return {m.group(1): (m.group(2), m.group(3).strip(), m.group(4))
            for m in re.finditer(r"^\| `(\w+)` \| `(EC2SOAP_\w+)` \| ([^|]*) \| (.*) \|$", readme, re.M)}


def test_readme_settings_table_is_config_keys() -> None:
    """README's table and `ec2soap config keys` (SETTINGS_DOC) list the same settings, variables, defaults
    and words: one source, copied."""
    rows = _readme_settings()
    assert sorted(rows) == sorted(SETTINGS_DOC)
    defaults = Settings()
    for key, doc in SETTINGS_DOC.items():
        variable, default, text = rows[key]
        assert variable == f"EC2SOAP_{key.upper()}" and text == doc, key
        value = getattr(defaults, key)
        if key != "data_dir":  # shown as ~/..., the machine's own path in `config keys`
            assert default == ("" if value in (None, "") else f"`{value}`"), key


def test_https_settings_and_their_errors(tmp_path: Path) -> None:
    assert Settings().tls_port == -1 and not Settings().trusted_proxies  # off, and no proxy trusted, by default
    settings = load_settings(environ={"EC2SOAP_TLS_PORT": "8443", "EC2SOAP_TLS_CERT": "/etc/c.pem",
                                      "EC2SOAP_TLS_KEY": "/etc/k.pem", "EC2SOAP_PORT": "-1"})
    assert (settings.tls_port, settings.port) == (8443, -1)
    with pytest.raises(SettingsError, match="tls_port needs tls_cert"):
        load_settings(environ={"EC2SOAP_TLS_PORT": "8443"})
    with pytest.raises(SettingsError, match="both -1"):
        load_settings(environ={"EC2SOAP_PORT": "-1"})
    with pytest.raises(SettingsError, match="tls_port must be between"):
        load_settings(environ={"EC2SOAP_TLS_PORT": "-2"})
    config = tmp_path / "c.toml"
    config.write_text('trusted_proxies = ["10.0.0.0/8", "192.168.1.5", "fd00::/8"]\n')
    assert load_settings(str(config), environ={}).trusted_proxies == "10.0.0.0/8, 192.168.1.5, fd00::/8"
    with pytest.raises(SettingsError, match="trusted_proxies: 'proxy.example.com' is not an IP address"):
        load_settings(environ={"EC2SOAP_TRUSTED_PROXIES": "10.0.0.1, proxy.example.com"})


def test_config_show_masks_every_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from ec2soap.cli import main

    import os

    saved = {k: os.environ.get(k) for k in ("EC2SOAP_HEALTH_TOKEN", "EC2SOAP_ENCRYPTION_KEY",
                                            "EC2SOAP_CLOUDSTACK_ADMIN_SECRET_KEY")}
    os.environ.update({"EC2SOAP_HEALTH_TOKEN": "tok-123456", "EC2SOAP_ENCRYPTION_KEY": "fernet-abcdef",
                       "EC2SOAP_CLOUDSTACK_ADMIN_SECRET_KEY": "admin-secret-xyz"})
    try:
        assert main(["config", "show"]) == 0
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    out = capsys.readouterr().out
    for secret in ("tok-123456", "fernet-abcdef", "admin-secret-xyz"):
        assert secret not in out
    assert "health_token = '********'" in out and "encryption_key = '********'" in out


def test_every_setting_type_is_converted_and_bools_parse_from_env_and_toml(tmp_path, monkeypatch) -> None:
    """Each Settings type has its own conversion (a plain bool once fell through to the string case, so
    EC2SOAP_SIMULATOR_ADVANCED_ZONE=false was the true string 'false' and TOML's `true` was refused)."""
    from dataclasses import fields as dc_fields

    from ec2soap.config import Settings, load_settings

    assert {f.type for f in dc_fields(Settings)} <= {"int", "float", "bool", "bool | None", "str"}
    for f in dc_fields(Settings):
        if f.type != "bool":
            continue
        for text, expected in (("false", False), ("0", False), ("true", True), ("on", True)):
            monkeypatch.setenv(f"EC2SOAP_{f.name.upper()}", text)
            assert getattr(load_settings(None), f.name) is expected, (f.name, text)
        monkeypatch.delenv(f"EC2SOAP_{f.name.upper()}")
        config = tmp_path / f"{f.name}.toml"
        config.write_text(f"{f.name} = true\n")
        assert getattr(load_settings(str(config)), f.name) is True, f.name
