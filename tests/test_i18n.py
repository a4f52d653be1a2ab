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


def test_the_language_belongs_to_its_context_not_the_process():
    """Two tasks at once, one in English: the other keeps Chinese, and so does the caller."""
    import asyncio

    seen: dict[str, str] = {}

    async def worker(name: str, lang: str | None, ready: asyncio.Event, go: asyncio.Event) -> None:
        if lang:
            i18n.set_language(lang)
        ready.set()
        await go.wait()  # both tasks are alive here, each with its own language
        seen[name] = i18n.t("ui.settings.title")

    async def main() -> None:
        go = asyncio.Event()
        ready = [asyncio.Event(), asyncio.Event()]
        tasks = [asyncio.create_task(worker("en", "en", ready[0], go)),
                 asyncio.create_task(worker("zh", None, ready[1], go))]
        for r in ready:
            await r.wait()
        go.set()
        await asyncio.gather(*tasks)

    i18n.add_catalog_dir(ROOT / "app" / "locale")
    asyncio.run(main())
    assert seen == {"en": "Settings", "zh": "设置"}
    assert i18n.language() == "zh"


def test_a_language_source_speaks_for_the_contexts_it_knows():
    known = {"on": "en"}
    where = ["off"]
    i18n.set_language_source(lambda: known.get(where[0]))
    try:
        assert i18n.language() == "zh"  # the source does not know this context
        where[0] = "on"
        assert i18n.language() == "en"
    finally:
        i18n.set_language_source(None)
    assert i18n.language() == "zh"
