"""Loading support lines from ``config/lines/*.yaml``."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from services.gateway.adapters.yaml_lines import DEFAULT_LINES_DIR, LineConfigError, load_lines

VALID = "line_id: {line_id}\nname: Test line\ngreeting: Hi\n"


def _write(directory: Path, stem: str, text: str) -> Path:
    path = directory / f"{stem}.yaml"
    path.write_text(text)
    return path


def test_repo_lines_load_demo_retail_with_a_content_hash() -> None:
    lines = load_lines()

    line = lines["demo-retail"]
    assert line.line_id == "demo-retail"
    assert line.name
    assert line.greeting
    assert line.store_hours
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", line.config_hash)


def test_config_hash_is_the_sha256_of_the_file_bytes() -> None:
    raw = (DEFAULT_LINES_DIR / "demo-retail.yaml").read_bytes()

    line = load_lines()["demo-retail"]

    assert line.config_hash == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_loads_every_valid_file_by_id(tmp_path: Path) -> None:
    _write(tmp_path, "alpha", VALID.format(line_id="alpha"))
    _write(tmp_path, "beta", VALID.format(line_id="beta"))
    (tmp_path / "notes.txt").write_text("not a line")

    lines = load_lines(tmp_path)

    assert sorted(lines) == ["alpha", "beta"]
    assert lines["alpha"].config_hash != lines["beta"].config_hash


def test_empty_directory_has_no_lines(tmp_path: Path) -> None:
    assert load_lines(tmp_path) == {}


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken", "line_id: broken\nname: [unclosed\n")

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path)

    assert str(path) in str(caught.value)


def test_yaml_that_is_not_a_mapping_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "listy", "- a\n- b\n")

    with pytest.raises(LineConfigError, match="not a YAML mapping") as caught:
        load_lines(tmp_path)

    assert str(path) in str(caught.value)


def test_missing_required_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "nameless", "line_id: nameless\ngreeting: Hi\n")

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path)

    message = str(caught.value)
    assert str(path) in message
    assert "name" in message.replace(str(path), "")


def test_invalid_field_value_names_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "badgreet", "line_id: badgreet\nname: X\ngreeting: [1, 2]\n")

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path)

    assert str(path) in str(caught.value)
    assert "greeting" in str(caught.value)


def test_line_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "expected-id", VALID.format(line_id="other-id"))

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path)

    message = str(caught.value)
    assert str(path) in message
    assert "line_id" in message
    assert "other-id" in message
