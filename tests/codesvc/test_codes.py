from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesvc.codes import (
    CODE_LENGTH,
    CROCKFORD,
    PROVINCE_CODES,
    Code,
    CodeFormatError,
    group_code_id,
    new_code_id,
    parse_code,
    parse_code_id,
    parse_code_or_url,
    parse_scan_path,
    scan_url,
)

crockford_text = st.text(alphabet=CROCKFORD, min_size=1)
code_ids = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet=CROCKFORD, min_size=14, max_size=14),
)
key_ids = st.text(alphabet=CROCKFORD, min_size=2, max_size=2)
codes = st.builds(Code, code_ids, key_ids, st.binary(min_size=64, max_size=64))
extensions = st.text(alphabet=CROCKFORD + "-", min_size=1, max_size=20)


@given(codes)
def test_a_code_round_trips_through_its_text(code: Code) -> None:
    text = code.text
    assert len(text) == CODE_LENGTH
    assert set(text) <= set(CROCKFORD)
    assert parse_code(text) == code


@given(codes)
def test_reading_ignores_case_and_maps_crockford_aliases(code: Code) -> None:
    typed = code.text.lower().replace("0", "o").replace("1", "l")
    assert parse_code(typed) == code
    assert parse_code("  " + code.text.replace("1", "I") + "\n") == code


@given(code_ids)
def test_a_code_id_is_read_back_from_its_grouped_form(code_id: str) -> None:
    grouped = group_code_id(code_id)
    assert len(grouped) == 19
    assert grouped.count("-") == 3
    assert parse_code_id(grouped) == code_id
    assert parse_code_id(grouped.lower().replace("-", " ")) == code_id
    assert parse_code_id(code_id.replace("0", "O")) == code_id


@given(codes, st.one_of(st.none(), extensions), st.one_of(st.none(), extensions))
def test_scan_paths_round_trip_with_batch_and_serial(
    code: Code, batch: str | None, serial: str | None
) -> None:
    if serial is not None and batch is None:
        batch = "LOT-1"
    url = scan_url("https://sc.example.cn", code, batch, serial)
    assert url == url.upper()
    path = url.removeprefix("HTTPS://SC.EXAMPLE.CN")
    target = parse_scan_path(path)
    assert (target.code, target.batch, target.serial) == (code, batch, serial)
    assert parse_scan_path("/c/" + path[3:].lower()).code == code
    assert parse_code_or_url(url.lower()) == target


def test_new_code_ids_carry_the_province_and_differ() -> None:
    ids = {new_code_id("14") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.startswith("14") and len(i) == 16 and set(i) <= set(CROCKFORD) for i in ids)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "code"),
        ("14" + "0" * 118, "code"),  # one character short
        ("99" + "0" * 119, "code_id"),  # no such province
        ("14ABCDEFGHJKMNPU" + "0" * 105, "code_id"),  # U is not Crockford
        ("14ABCDEFGHJKMNPQ" + "*1" + "0" * 103, "key_id"),
        ("14ABCDEFGHJKMNPQ01" + "0" * 102 + "1", "sig"),  # padding bits set
        ("14ABCDEFGHJKMNPQ01" + "#" * 103, "sig"),
    ],
)
def test_a_bad_code_names_the_part_that_is_wrong(text: str, part: str) -> None:
    with pytest.raises(CodeFormatError) as caught:
        parse_code(text)
    assert caught.value.part == part


@pytest.mark.parametrize(
    "path",
    [
        "/X/" + "0" * 121,
        "/C/",
        "C/abc",
        "/C/{code}/B",
        "/C/{code}/B/lot/X/1",
        "/C/{code}/S/1",
        "/C/{code}/B/" + "A" * 21,
        "/C/{code}/B/lot_7",
        "/C/{code}/B/1/S/2/extra/parts",
    ],
)
def test_malformed_scan_paths_are_refused(path: str) -> None:
    code = Code("14ABCDEFGHJKMNPQ", "01", bytes(64)).text
    with pytest.raises(CodeFormatError):
        parse_scan_path(path.replace("{code}", code))


def test_a_serial_needs_a_batch() -> None:
    with pytest.raises(CodeFormatError, match="serial"):
        scan_url("https://x.cn", Code("14ABCDEFGHJKMNPQ", "01", bytes(64)), None, "7")


@given(st.text(max_size=300))
def test_junk_gives_only_the_typed_error(text: str) -> None:
    for parse in (parse_code, parse_code_id, parse_scan_path, parse_code_or_url):
        with contextlib.suppress(CodeFormatError):
            parse(text)


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_wrong_types_give_only_the_typed_error(value: object) -> None:
    for parse in (parse_code, parse_code_id, parse_scan_path, parse_code_or_url):
        with pytest.raises(CodeFormatError):
            parse(value)  # type: ignore[arg-type]
