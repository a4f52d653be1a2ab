"""The public code (查询码): derived from the issue id, readable, self-checking."""

import random
import uuid

from sync.public_code import ALPHABET, LENGTH, is_valid, normalize, public_code, same_code


def _ids(n: int, seed: int = 3) -> list[str]:
    rnd = random.Random(seed)
    return [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(n)]


def test_the_same_id_gives_the_same_code_on_every_device():
    iid = "01932b4e-8f00-7abc-9def-0123456789ab"
    assert public_code(iid) == public_code(iid)
    code = public_code(iid)
    assert len(code) == LENGTH + 1 and code[4] == "-"
    assert all(c in ALPHABET for c in code.replace("-", ""))
    assert not set(code) & set("01OIL")
    assert is_valid(code) and same_code(code, iid)


def test_what_a_resident_types_is_folded():
    code = public_code("some-id")
    typed = " " + code.lower().replace("-", " ") + " "
    assert normalize(typed) == code.replace("-", "")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code.replace("-", ""))  # ＡＢＣ on a Chinese keyboard
    assert is_valid(full_width)


def test_every_single_wrong_character_and_neighbour_swap_is_caught():
    for iid in _ids(60):
        raw = normalize(public_code(iid))
        for i in range(LENGTH):
            for c in ALPHABET:
                if c != raw[i]:
                    assert not is_valid(raw[:i] + c + raw[i + 1:]), (raw, i, c)
        for i in range(LENGTH - 1):
            if raw[i] != raw[i + 1]:
                assert not is_valid(raw[:i] + raw[i + 1] + raw[i] + raw[i + 2:]), (raw, i)


def test_shapes_that_are_not_codes():
    for bad in ("", "ABC", "K7QM-3XP", "K7QM-3XPDD", "K7QM-3XP0", "键盘输入中文"):
        assert not is_valid(bad)


def test_no_shared_code_among_a_village_decade_of_problems():
    codes = [public_code(i) for i in _ids(10_000)]
    assert len(set(codes)) == len(codes)
