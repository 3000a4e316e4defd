"""Config: arguments, environment, .env file; validation that names the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from jsm_nb import Config, ConfigError
from jsm_nb.config import is_loopback_url


def test_environment_wins_over_dotenv_and_arguments_win_over_both(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        'JSM_NB_CLIENT_ID=from-dotenv\nJSM_NB_CLIENT_SECRET="dotenv secret"\nJSM_NB_SITE=dotsite\n'
    )
    env = {"JSM_NB_CLIENT_ID": "from-env", "JSM_NB_SCOPES": "read:me  offline_access"}
    config = Config.from_env(env=env, dotenv=dotenv, site="argsite")
    assert config.client_id == "from-env"
    assert config.client_secret == "dotenv secret"
    assert config.site == "argsite"
    assert config.scopes == ("read:me", "offline_access")


def test_defaults_without_any_setting_mean_the_sandbox(tmp_path: Path) -> None:
    config = Config.from_env(env={}, dotenv=tmp_path / "missing.env")
    assert config.uses_sandbox
    assert config.redirect_uri == "http://localhost:8765/callback"
    assert config.auth_url == "https://auth.atlassian.com"
    assert "offline_access" in config.scopes
    assert config.token_path.name == "tokens.json"


def test_repr_never_shows_the_secret() -> None:
    config = Config(client_id="id", client_secret="very-secret-value")
    assert "very-secret-value" not in repr(config)
    assert "very-secret-value" not in str(config)


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9000", "http://127.0.0.1:1234/", "http://[::1]:80", "http://127.5.6.7"],
)
def test_plain_http_is_accepted_on_loopback(url: str) -> None:
    config = Config(client_id="id", client_secret="s", api_url=url, auth_url=url, redirect_uri=url)
    assert config.api_url == url.rstrip("/")


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no setting"):
        Config.from_env(env={}, dotenv=None, client_idd="typo")


@pytest.mark.parametrize(
    "url",
    [
        "http://evil\\@localhost",  # urllib3 connects to evil; urllib.parse reads localhost
        "http://evil.example\\@127.0.0.1:8080/",
        "http://evil@localhost",
        "http://localhost%2F@evil.example",
        "http://localhost%40evil.example",
        "http://localhost\t.evil.example",
        "http://localhost.",
        "http://127.1",
        "http://0x7f.0.0.1",
        "http://2130706433",
        "http://[::ffff:127.0.0.1]",
        "http://\uff4cocalhost",  # a full-width l
        "http:/\\localhost",
        "http://localhost:08765",
    ],
)
def test_an_ambiguous_url_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="JSM_NB_API_URL must be an absolute URL") as caught:
        Config(client_id="id", client_secret="s", api_url=url)
    assert caught.value.variable == "JSM_NB_API_URL"
    assert not is_loopback_url(url)


def test_a_password_in_a_url_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError, match="user name or password") as caught:
        Config(client_id="id", client_secret="s", auth_url="https://me:hunter2@auth.example.com")
    assert "hunter2" not in str(caught.value)
