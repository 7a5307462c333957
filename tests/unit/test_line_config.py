"""Loading support lines from ``config/lines/*.yaml``."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from shared.lines import DEFAULT_TOOLS_DIR, LineConfigError, load_lines, load_tool_specs

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
    assert line.policies["hours"]
    assert line.tool("order_status") is not None
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", line.config_hash)


def test_config_hash_covers_the_line_file_and_the_tool_specs_it_uses(tmp_path: Path) -> None:
    tools_dir = tmp_path / "tools"
    lines_dir = tmp_path / "lines"
    tools_dir.mkdir()
    lines_dir.mkdir()
    tool = "tools:\n  - name: lookup\n    description: {description}\n"
    (tools_dir / "t.yaml").write_text(tool.format(description="Look it up"))
    path = _write(lines_dir, "alpha", VALID.format(line_id="alpha") + "tools: [lookup]\n")

    first = load_lines(lines_dir)["alpha"]
    (tools_dir / "t.yaml").write_text(tool.format(description="Look it up, fast"))
    second = load_lines(lines_dir)["alpha"]

    assert first.config_hash != second.config_hash  # a changed tool is a new line version
    assert first.tool("lookup") is not None
    assert first.config_hash != "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_unknown_tool_reference_names_the_file_and_the_tool(tmp_path: Path) -> None:
    path = _write(tmp_path, "alpha", VALID.format(line_id="alpha") + "tools: [nope]\n")

    with pytest.raises(LineConfigError, match="unknown tool 'nope'") as caught:
        load_lines(tmp_path, tools={})

    assert str(path) in str(caught.value)


def test_an_inline_http_tool_is_validated(tmp_path: Path) -> None:
    inline = (
        "tools:\n  - name: crm_lookup\n    description: Our CRM\n    backend: http\n"
        "    http: {url: 'ftp://crm/{id}'}\n"
    )
    _write(tmp_path, "alpha", VALID.format(line_id="alpha") + inline)

    with pytest.raises(LineConfigError, match="http:// or https://"):
        load_lines(tmp_path, tools={})


def test_a_tool_whose_parameters_are_not_a_json_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "tools:\n  - name: bad\n    description: x\n    parameters: {type: object, "
        "properties: {a: {type: 12}}}\n"
    )

    with pytest.raises(LineConfigError, match=r"tools\.0: parameters"):
        load_tool_specs(tmp_path)


def test_a_flow_may_only_use_the_lines_own_tools(tmp_path: Path) -> None:
    flow = "flows:\n  - intent: status\n    match: [order]\n    tool: order_status\n    say: ok\n"
    _write(tmp_path, "alpha", VALID.format(line_id="alpha") + flow)

    with pytest.raises(LineConfigError, match="not on this line"):
        load_lines(tmp_path, tools={})


def test_the_shared_crm_tool_specs_are_valid_and_bounded() -> None:
    specs = load_tool_specs(DEFAULT_TOOLS_DIR)

    assert {"order_status", "cancel_order", "start_return", "find_customer"} <= set(specs)
    for spec in specs.values():
        assert spec.timeout_seconds <= 10, spec.name  # a caller is waiting
        assert spec.as_function()["function"]["parameters"]["type"] == "object"
    assert specs["cancel_order"].effect == "write"


def test_loads_every_valid_file_by_id(tmp_path: Path) -> None:
    _write(tmp_path, "alpha", VALID.format(line_id="alpha"))
    _write(tmp_path, "beta", VALID.format(line_id="beta"))
    (tmp_path / "notes.txt").write_text("not a line")

    lines = load_lines(tmp_path, tools={})

    assert sorted(lines) == ["alpha", "beta"]
    assert lines["alpha"].config_hash != lines["beta"].config_hash


def test_empty_directory_has_no_lines(tmp_path: Path) -> None:
    assert load_lines(tmp_path, tools={}) == {}


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken", "line_id: broken\nname: [unclosed\n")

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path, tools={})

    assert str(path) in str(caught.value)


def test_yaml_that_is_not_a_mapping_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "listy", "- a\n- b\n")

    with pytest.raises(LineConfigError, match="not a YAML mapping") as caught:
        load_lines(tmp_path, tools={})

    assert str(path) in str(caught.value)


def test_missing_required_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "nameless", "line_id: nameless\ngreeting: Hi\n")

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path, tools={})

    message = str(caught.value)
    assert str(path) in message
    assert "name" in message.replace(str(path), "")


def test_invalid_field_value_names_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "badgreet", "line_id: badgreet\nname: X\ngreeting: [1, 2]\n")

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path, tools={})

    assert str(path) in str(caught.value)
    assert "greeting" in str(caught.value)


def test_line_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "expected-id", VALID.format(line_id="other-id"))

    with pytest.raises(LineConfigError) as caught:
        load_lines(tmp_path, tools={})

    message = str(caught.value)
    assert str(path) in message
    assert "line_id" in message
    assert "other-id" in message
