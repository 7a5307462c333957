"""API keys by role: parsing the configured hashes, matching keys, reading the header."""

from __future__ import annotations

import hashlib

import pytest

from shared.auth import ROLES, KeyRing, bearer_token, hash_key, new_key

GATEWAY_KEY = "sb_gateway_test-key-1"
ANALYST_KEY = "sb_analyst_test-key-2"
ADMIN_KEY = "sb_admin_test-key-3"


def _hex(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.from_spec(
        f"gateway=sha256:{_hex(GATEWAY_KEY)}, analyst=sha256:{_hex(ANALYST_KEY)},"
        f"admin=sha256:{_hex(ADMIN_KEY)}"
    )


def test_from_spec_parses_role_and_digest_entries(ring: KeyRing) -> None:
    assert ring.entries == (
        ("gateway", bytes.fromhex(_hex(GATEWAY_KEY))),
        ("analyst", bytes.fromhex(_hex(ANALYST_KEY))),
        ("admin", bytes.fromhex(_hex(ADMIN_KEY))),
    )


def test_from_spec_of_empty_spec_has_no_entries() -> None:
    assert KeyRing.from_spec("").entries == ()
    assert KeyRing.from_spec(" , ").entries == ()


def test_from_spec_accepts_hash_key_output() -> None:
    ring = KeyRing.from_spec(f"supervisor={hash_key('k')}")

    assert ring.roles_of("k") == {"supervisor"}


@pytest.mark.parametrize(
    "spec",
    [
        f"root=sha256:{'a' * 64}",  # unknown role
        f"gateway=md5:{'a' * 64}",  # unknown algorithm
        f"gateway=sha256:{'a' * 63}",  # too short
        f"gateway=sha256:{'a' * 65}",  # too long
        f"gateway{'a' * 64}",  # no '='
        "gateway=sha256:",  # no digest
        f"gateway=sha256:{'z' * 64}",  # not hex
    ],
)
def test_from_spec_rejects_a_bad_entry(spec: str) -> None:
    with pytest.raises(ValueError):
        KeyRing.from_spec(spec)


def test_from_spec_error_names_the_bad_entry_index() -> None:
    spec = f"gateway=sha256:{'a' * 64},analyst=sha1:{'b' * 64}"

    with pytest.raises(ValueError, match="entry 1"):
        KeyRing.from_spec(spec)


def test_roles_of_a_configured_key(ring: KeyRing) -> None:
    assert ring.roles_of(GATEWAY_KEY) == {"gateway"}
    assert ring.roles_of(ANALYST_KEY) == {"analyst"}


def test_roles_of_a_wrong_or_missing_key_is_empty(ring: KeyRing) -> None:
    assert ring.roles_of("sb_gateway_wrong") == frozenset()
    assert ring.roles_of("") == frozenset()
    assert ring.roles_of(None) == frozenset()


def test_one_key_may_hold_several_roles() -> None:
    ring = KeyRing.from_spec(f"gateway={hash_key('k')},analyst={hash_key('k')}")

    assert ring.roles_of("k") == {"gateway", "analyst"}


def test_allows_a_key_with_a_wanted_role(ring: KeyRing) -> None:
    assert ring.allows(GATEWAY_KEY, "gateway")
    assert ring.allows(ANALYST_KEY, "supervisor", "analyst")


def test_refuses_a_key_without_a_wanted_role(ring: KeyRing) -> None:
    assert not ring.allows(GATEWAY_KEY, "analyst")
    assert not ring.allows(ANALYST_KEY, "gateway", "supervisor")


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_allowed_everything(ring: KeyRing, role: str) -> None:
    assert ring.allows(ADMIN_KEY, role)  # type: ignore[arg-type]


def test_wrong_key_is_allowed_nothing(ring: KeyRing) -> None:
    assert not ring.allows("nope", "gateway")
    assert not ring.allows(None, "gateway")


def test_new_key_carries_its_role_and_is_unique() -> None:
    first, second = new_key("analyst"), new_key("analyst")

    assert first.startswith("sb_analyst_")
    assert first != second
    assert len(first) > len("sb_analyst_") + 40


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc123", "abc123"),
        ("bearer abc123", "abc123"),
        ("BEARER abc123", "abc123"),
        ("  Bearer   abc123  ", "abc123"),
        ("abc123", "abc123"),
        ("  abc123 ", "abc123"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


def test_a_supervisor_may_read_what_an_analyst_may_but_not_the_reverse() -> None:
    ring = KeyRing.from_spec(f"supervisor={hash_key('sup')},analyst={hash_key('ana')}")

    assert ring.allows("sup", "analyst")
    assert not ring.allows("ana", "supervisor")
    assert not ring.allows("sup", "admin")
    assert not ring.allows("sup", "gateway")


def test_a_key_fingerprint_is_the_start_of_its_configured_hash_and_not_the_key() -> None:
    from shared.auth import hash_key, key_fingerprint, new_key

    key = new_key("supervisor")
    fingerprint = key_fingerprint(key)
    assert len(fingerprint) == 12 and hash_key(key).startswith(f"sha256:{fingerprint}")
    assert fingerprint not in key and key_fingerprint(new_key("supervisor")) != fingerprint
