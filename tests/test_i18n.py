import json
from pathlib import Path

from sync import i18n

ROOT = Path(__file__).resolve().parents[1]


def _catalog_files():
    return sorted((ROOT / "sync" / "locale").glob("*.json")) + sorted(
        (ROOT / "app" / "locale").glob("*.json")
    )


def test_every_key_has_chinese_and_english():
    for f in _catalog_files():
        for key, entry in json.loads(f.read_text(encoding="utf-8")).items():
            assert entry.get("zh"), f"{f.name}: {key} has no Chinese text"
            assert entry.get("en"), f"{f.name}: {key} has no English text"


def test_no_key_defined_twice_across_files():
    seen: dict[str, str] = {}
    for f in _catalog_files():
        for key in json.loads(f.read_text(encoding="utf-8")):
            assert key not in seen, f"{key} in both {seen[key]} and {f.name}"
            seen[key] = f.name


def test_lookup_formats_and_falls_back(tmp_path):
    (tmp_path / "x.json").write_text(
        json.dumps({"x.hello": {"zh": "你好，{name}", "en": "Hello, {name}"}, "x.zh_only": {"zh": "仅中文"}}),
        encoding="utf-8",
    )
    i18n.add_catalog_dir(tmp_path)
    assert i18n.t("x.hello", name="李") == "你好，李"
    assert i18n.t("x.hello", lang="en", name="Li") == "Hello, Li"
    assert i18n.t("x.zh_only", lang="en") == "仅中文"
    assert i18n.t("x.missing") == "x.missing"
    i18n.set_language("en")
    try:
        assert i18n.t("x.hello", name="Li") == "Hello, Li"
    finally:
        i18n.set_language("zh")
