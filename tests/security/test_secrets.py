"""Secrets come only from the environment, and keys are configured only as hashes.

No settings class carries a secret default; no configuration file in the repository holds a
plaintext API key, desk key or token; ``AUTH_KEY_HASHES`` and desk ``key_hash`` entries accept
SHA-256 hashes only, so a key pasted where its hash belongs is refused at start-up.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shared.auth import ROLES, KeyRing, hash_key, new_key

REPO = Path(__file__).resolve().parents[2]
# Secret-typed fields whose default is a local, password-less address rather than a secret.
LOCAL_URL_DEFAULTS = {("PostgresSettings", "url"), ("RedisSettings", "url")}
# Fields whose names look secret but hold none: hashes of keys, and a Redis key prefix.
NOT_SECRET = {("AuthSettings", "key_hashes"), ("RedisSettings", "key_prefix")}
SECRET_NAME = re.compile(r"(^|_)(key|token|secret|password|credentials?)($|_)")
# What a leaked key or token looks like (shared.auth.new_key, bridge and desk keys, Twilio's
# 32-hex auth token next to its variable name).
PLAINTEXT = re.compile(
    r"sb_(gateway|analyst|supervisor|admin|desk)_[A-Za-z0-9_-]{16,}"
    r"|brg_[A-Za-z0-9_-]{16,}"
    r"|TWILIO_AUTH_TOKEN\s*[:=]\s*['\"]?[0-9a-f]{32}"
)
CONFIG_SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".env", ".ini", ".cfg", ".html", ".js"}


def _settings_classes() -> Iterator[type[BaseSettings]]:
    files = [REPO / "shared" / "settings.py", *sorted(REPO.glob("services/*/settings.py"))]
    assert len(files) == 5
    for path in files:
        module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseSettings) and cls.__module__ == module.__name__:
                yield cls


def _secret_typed(annotation: object) -> bool:
    return "SecretStr" in str(annotation)


def test_settings_classes_have_no_secret_defaults() -> None:
    checked = 0
    for cls in _settings_classes():
        for name, field in cls.model_fields.items():
            if not _secret_typed(field.annotation):
                continue
            checked += 1
            default = field.default
            text = default.get_secret_value() if isinstance(default, SecretStr) else default
            if (cls.__name__, name) in LOCAL_URL_DEFAULTS:
                assert urlsplit(str(text)).password is None, f"{cls.__name__}.{name}"
            else:
                assert text in (None, ""), f"{cls.__name__}.{name} has a secret default"
    assert checked >= 5  # the two URLs, LLM key, Twilio token, analytics key


def test_settings_fields_named_like_secrets_are_secret_typed() -> None:
    for cls in _settings_classes():
        for name, field in cls.model_fields.items():
            textual = "str" in str(field.annotation)  # a count such as max_sessions_per_key is not
            if textual and SECRET_NAME.search(name) and (cls.__name__, name) not in NOT_SECRET:
                assert _secret_typed(field.annotation), f"{cls.__name__}.{name} is not SecretStr"


def test_a_secret_setting_does_not_show_in_its_repr() -> None:
    from services.gateway.settings import GatewaySettings

    settings = GatewaySettings(TWILIO_AUTH_TOKEN="0123456789abcdef0123456789abcdef")

    assert "0123456789abcdef" not in repr(settings)
    assert "0123456789abcdef" not in settings.model_dump_json()


def _config_files() -> Iterator[Path]:
    roots = [REPO / "config", REPO / "infra", REPO / "services", REPO / ".ci"]
    yield REPO / "docker-compose.yml"
    yield REPO / "pyproject.toml"
    for root in roots:
        for path in root.rglob("*"):
            vendored = "vendor" in path.parts or "node_modules" in path.parts
            if (
                path.is_file()
                and not vendored
                and (path.suffix in CONFIG_SUFFIXES or root.name == ".ci")
            ):
                yield path


def test_no_plaintext_key_or_token_in_any_config_file() -> None:
    files = list(_config_files())
    found = [
        (str(path.relative_to(REPO)), match.group(0)[:12])
        for path in files
        for match in PLAINTEXT.finditer(path.read_text(errors="replace"))
    ]

    assert len(files) > 20
    assert found == []


def test_the_scan_would_find_a_pasted_key() -> None:
    assert PLAINTEXT.search(f"AUTH_KEYS: {new_key('admin')}")
    assert PLAINTEXT.search("TWILIO_AUTH_TOKEN=" + "ab" * 16)
    assert not PLAINTEXT.search(f"AUTH_KEY_HASHES: admin={hash_key(new_key('admin'))}")


def test_desk_agents_are_configured_by_hash_or_from_the_environment() -> None:
    agents = yaml.safe_load((REPO / "config" / "agents.yaml").read_text())["agents"]

    assert agents
    for agent in agents:
        assert re.fullmatch(r"\$\{[A-Z_]+\}|sha256:[0-9a-f]{64}", agent["key_hash"])


@pytest.mark.parametrize("role", ROLES)
def test_a_plaintext_key_where_its_hash_belongs_is_refused(role: str) -> None:
    key = new_key(role)  # type: ignore[arg-type]

    for spec in (f"{role}={key}", f"{role}=sha256:{key}", key):
        with pytest.raises(ValueError, match="AUTH_KEY_HASHES entry 0"):
            KeyRing.from_spec(spec)
    # ... and the error does not echo the key into a log.
    with pytest.raises(ValueError) as refused:
        KeyRing.from_spec(f"{role}={key}")
    assert key not in str(refused.value)


def test_a_keyring_keeps_only_digests() -> None:
    key = new_key("admin")
    ring = KeyRing.from_spec(f"admin={hash_key(key)}")

    assert key.encode() not in repr(ring).encode()
    assert all(len(digest) == 32 for _, digest in ring.entries)
