"""Every model message, label and flag the code can produce exists in the catalog."""

import re
from pathlib import Path

from sync.i18n import catalog
from sync.records import EVENT_DATA, FIELDS, KINDS, ROLES
from sync.workflow import STATES, TRANSITIONS

ROOT = Path(__file__).resolve().parents[2]


def test_every_error_code_used_in_the_code_has_a_message():
    source = "".join((ROOT / "sync" / name).read_text(encoding="utf-8") for name in ("records.py", "changes.py", "merge.py", "workflow.py"))
    arg = r"\s*[^,()]+(?:\([^()]*\))?\s*,"  # one argument, maybe a call like f(a, b)
    codes = set(re.findall(r"errs\.add\(" + arg + arg + r'\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'FieldError\([^)]*?"([a-z_]+)", t\("model\.\1"', source))
    codes |= set(re.findall(r't\("model\.([a-z_]+)"', source))
    assert {"required", "bad_phone", "too_long", "write_once", "no_change", "item"} <= codes
    missing = {c for c in codes if f"model.{c}" not in catalog()}
    assert not missing


def test_every_label_exists():
    cat = catalog()
    for kind in KINDS:
        assert f"model.kind.{kind}" in cat
        for name, spec in FIELDS[kind].items():
            assert f"model.field.{kind}.{name}" in cat or f"model.field.{name}" in cat, (kind, name)
            for choice in spec.choices if spec.type == "choice" and name not in ("type", "role") else ():
                assert f"model.choice.{name}.{choice}" in cat, (name, choice)
            for sub in spec.sub:
                assert f"model.field.{name}.{sub.name}" in cat or f"model.field.{sub.name}" in cat
    for specs in EVENT_DATA.values():
        for spec in specs:
            assert f"model.field.{spec.name}" in cat
    for state in STATES:
        assert f"model.state.{state}" in cat
    for _, event in TRANSITIONS:
        assert f"model.event.{event}" in cat
    for role in ROLES:
        assert f"model.role.{role}" in cat
    for reason in ("role", "state", "wish_only", "problem_only", "data", "other_issue", "unknown_type"):
        assert f"model.invalid.{reason}" in cat
    for reason in ("concurrent", "deleted", "immutable"):
        assert f"model.conflict.{reason}" in cat
