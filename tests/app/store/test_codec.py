"""The store's JSON decoding (app/store/codec.py): orjson on the PC, with the standard parser
deciding what orjson refuses, and the same errors as before for damaged files."""

from __future__ import annotations

import json
import math

import pytest

from app.store import codec


def test_the_pc_decodes_with_orjson_and_gets_the_same_values() -> None:
    assert codec.orjson is not None  # a dependency of the PC install ([project].dependencies)
    doc = {"records": {"a": {"id": "a", "fields": {"title": "路灯坏了", "n": 3, "x": 1.5, "ok": True,
                                                   "none": None, "list": [1, "二"]}}}}
    raw = json.dumps(doc, ensure_ascii=False).encode()
    assert codec.loads(raw) == json.loads(raw) == doc


def test_a_cache_written_reads_back_the_same_with_either_parser(monkeypatch) -> None:
    doc = {"version": 2, "lines": {"a": [[3, ["s", 1, "id"], "problem"], ["2026-03-01", "assign", "派单"]]}}
    assert json.loads(codec.dumps(doc)) == codec.loads(codec.dumps(doc)) == doc
    monkeypatch.setattr(codec, "orjson", None)  # the phone
    assert codec.dumps(doc) == json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    assert codec.loads(codec.dumps(doc)) == doc


def test_what_only_the_standard_parser_reads_is_still_read() -> None:
    value = codec.loads(b'{"x": NaN}')["x"]  # Python's json writes NaN; orjson refuses it
    assert math.isnan(value)


@pytest.mark.parametrize("raw, error", [(b'{"records": {', json.JSONDecodeError),
                                        (b'{"a": "\xff\xfe"}', UnicodeDecodeError)])
def test_damage_raises_what_json_raises(raw: bytes, error: type) -> None:
    with pytest.raises(error):
        codec.loads(raw)
