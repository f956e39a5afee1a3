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
