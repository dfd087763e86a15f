"""server/core/validation.py: every bound of the three validators, every violation named."""

from __future__ import annotations

import math

import pytest

from analyzers.config import ModelSettings
from analyzers.types import GenerationParams
from server.core.errors import ErrorKind, FieldViolation, InvalidRequest, error_kind
from server.core.events import AnalysisRequest
from server.core.offsets import OffsetUnit
from server.core.settings import Settings
from server.core.validation import (
    MAX_STOP_CHARS,
    MAX_STOP_STRINGS,
    valid_temperature,
    validate_analysis,
    validate_generation,
    validate_process,
)

# Small bounds, so that each edge is a short literal.
SETTINGS = Settings(
    min_text_chars=5,
    max_text_chars=20,
    min_chunk_size=3,
    default_chunk_size=7,
    max_chunk_size=10,
    max_prompt_chars=12,
    models=ModelSettings(max_new_tokens_cap=16, default_max_new_tokens=4),
)
TEXT = "hello world"


def violations(call) -> list[FieldViolation]:
    with pytest.raises(InvalidRequest) as raised:
        call()
    assert error_kind(raised.value) is ErrorKind.INVALID
    # The message names every field, in order.
    assert str(raised.value) == "; ".join(
        f"{v.field}: {v.description}" for v in raised.value.violations
    )
    return raised.value.violations


def fields(call) -> list[str]:
    return [violation.field for violation in violations(call)]


# -- validate_analysis ----------------------------------------------------------------------


def test_analysis_defaults_are_the_contracts():
    assert validate_analysis(SETTINGS, TEXT) == AnalysisRequest(
        text=TEXT,
        include_sentiment=True,
        include_summary=True,
        include_entities=False,
        chunk_size=7,
    )


def test_analysis_explicit_values_are_kept():
    request = validate_analysis(SETTINGS, TEXT, False, False, True, 3)
    assert request == AnalysisRequest(TEXT, False, False, True, 3)


@pytest.mark.parametrize("length", [5, 20])
def test_text_length_bounds_are_inclusive(length):
    text = "x" * length
    assert validate_analysis(SETTINGS, text).text == text


def test_text_below_the_minimum():
    assert violations(lambda: validate_analysis(SETTINGS, "abcd")) == [
        FieldViolation("text", "must be at least 5 characters (got 4)")
    ]


def test_text_above_the_maximum():
    assert violations(lambda: validate_analysis(SETTINGS, "x" * 21)) == [
        FieldViolation("text", "must be at most 20 characters (got 21)")
    ]


def test_empty_text():
    assert violations(lambda: validate_analysis(SETTINGS, "")) == [
        FieldViolation("text", "must be at least 5 characters (got 0)")
    ]


@pytest.mark.parametrize("text", [" " * 5, "\t\n \u3000\u00a0" * 2, " " * 20])
def test_whitespace_only_text_is_refused(text):
    assert violations(lambda: validate_analysis(SETTINGS, text)) == [
        FieldViolation("text", "must contain something other than whitespace")
    ]


def test_text_length_counts_code_points():
    # 5 emoji: 5 code points (10 UTF-16 units, 20 UTF-8 bytes) is the minimum, not over it.
    assert validate_analysis(SETTINGS, "😀" * 5).text == "😀" * 5
    assert violations(lambda: validate_analysis(SETTINGS, "😀" * 21)) == [
        FieldViolation("text", "must be at most 20 characters (got 21)")
    ]


@pytest.mark.parametrize("size", [3, 10])
def test_chunk_size_bounds_are_inclusive(size):
    assert validate_analysis(SETTINGS, TEXT, chunk_size=size).chunk_size == size


@pytest.mark.parametrize("size", [2, 11, 0, -1])
def test_chunk_size_out_of_bounds(size):
    assert violations(lambda: validate_analysis(SETTINGS, TEXT, chunk_size=size)) == [
        FieldViolation("chunk_size", f"must be between 3 and 10 characters (got {size})")
    ]


def test_analysis_reports_text_and_chunk_size_together():
    assert fields(lambda: validate_analysis(SETTINGS, "  ", chunk_size=99)) == [
        "text",
        "chunk_size",
    ]


# -- validate_process -----------------------------------------------------------------------


def test_process_defaults_to_code_points():
    analysis, unit = validate_process(SETTINGS, TEXT)
    assert unit is OffsetUnit.CODE_POINT
    assert analysis == validate_analysis(SETTINGS, TEXT)


@pytest.mark.parametrize("unit", list(OffsetUnit))
def test_process_keeps_each_unit(unit):
    assert validate_process(SETTINGS, TEXT, offset_unit=unit)[1] is unit


@pytest.mark.parametrize("number", [4, 99, -1])
def test_an_unknown_offset_unit_number_is_a_violation(number):
    assert violations(lambda: validate_process(SETTINGS, TEXT, offset_unit=number)) == [
        FieldViolation(
            "offset_unit",
            f"unknown offset unit {number}: must be code points, UTF-16 or UTF-8",
        )
    ]


def test_process_reports_every_field_together():
    call = lambda: validate_process(SETTINGS, "x", chunk_size=1, offset_unit=7)  # noqa: E731
    assert fields(call) == ["text", "chunk_size", "offset_unit"]


def test_process_passes_the_analysis_fields_through():
    analysis, _ = validate_process(SETTINGS, TEXT, False, True, True, 10, OffsetUnit.UTF8)
    assert analysis == AnalysisRequest(TEXT, False, True, True, 10)


# -- validate_generation --------------------------------------------------------------------


def test_generation_defaults():
    assert validate_generation(SETTINGS, "hi") == ("hi", GenerationParams(max_new_tokens=4))


def test_generation_explicit_values_are_kept():
    prompt, params = validate_generation(SETTINGS, "hi", 16, 0.7, 0.9, 42, ("\n", "END"))
    assert prompt == "hi"
    assert params == GenerationParams(
        max_new_tokens=16, temperature=0.7, top_p=0.9, seed=42, stop=("\n", "END")
    )


def test_stop_may_be_any_sequence_and_becomes_a_tuple():
    _, params = validate_generation(SETTINGS, "hi", stop=["a", "b"])  # type: ignore[arg-type]
    assert params.stop == ("a", "b")


@pytest.mark.parametrize(
    ("prompt", "description"),
    [
        ("", "must be at least 1 characters (got 0)"),
        ("x" * 13, "must be at most 12 characters (got 13)"),
        ("   \n", "must contain something other than whitespace"),
    ],
)
def test_prompt_bounds(prompt, description):
    assert violations(lambda: validate_generation(SETTINGS, prompt)) == [
        FieldViolation("prompt", description)
    ]


def test_prompt_of_the_maximum_length_is_valid():
    assert validate_generation(SETTINGS, "x" * 12)[0] == "x" * 12


@pytest.mark.parametrize("tokens", [1, 16])
def test_max_new_tokens_bounds_are_inclusive(tokens):
    assert validate_generation(SETTINGS, "hi", tokens)[1].max_new_tokens == tokens


@pytest.mark.parametrize("tokens", [0, 17, -3])
def test_max_new_tokens_out_of_bounds(tokens):
    assert violations(lambda: validate_generation(SETTINGS, "hi", tokens)) == [
        FieldViolation("max_new_tokens", f"must be between 1 and 16 (got {tokens})")
    ]


@pytest.mark.parametrize("temperature", [None, 0.0, -0.0, 0.05, 1.0, 5.0])
def test_valid_temperatures(temperature):
    assert (
        validate_generation(SETTINGS, "hi", temperature=temperature)[1].temperature == temperature
    )


@pytest.mark.parametrize(
    ("temperature", "shown"),
    [
        (0.04, "0.04"),
        (0.001, "0.001"),
        (5.01, "5.01"),
        (-0.5, "-0.5"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
    ],
)
def test_invalid_temperatures(temperature, shown):
    assert violations(lambda: validate_generation(SETTINGS, "hi", temperature=temperature)) == [
        FieldViolation("temperature", f"must be 0 (greedy) or between 0.05 and 5 (got {shown})")
    ]


def test_valid_temperature_alone():
    assert [valid_temperature(t) for t in (0, 0.05, 5, 0.0499, 5.0001, math.nan, math.inf)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize("top_p", [None, 1e-9, 0.5, 1.0])
def test_valid_top_p(top_p):
    assert validate_generation(SETTINGS, "hi", top_p=top_p)[1].top_p == top_p


@pytest.mark.parametrize(
    ("top_p", "shown"),
    [(0.0, "0"), (-0.1, "-0.1"), (1.0001, "1.0001"), (math.nan, "nan"), (math.inf, "inf")],
)
def test_invalid_top_p(top_p, shown):
    assert violations(lambda: validate_generation(SETTINGS, "hi", top_p=top_p)) == [
        FieldViolation("top_p", f"must be in (0, 1] (got {shown})")
    ]


def test_stop_count_bound():
    assert MAX_STOP_STRINGS == 8
    most = tuple(str(i) for i in range(MAX_STOP_STRINGS))
    assert validate_generation(SETTINGS, "hi", stop=most)[1].stop == most
    assert violations(lambda: validate_generation(SETTINGS, "hi", stop=(*most, "x"))) == [
        FieldViolation("stop", "at most 8 strings (got 9)")
    ]


def test_stop_string_length_bounds():
    assert MAX_STOP_CHARS == 64
    longest = "s" * MAX_STOP_CHARS
    assert validate_generation(SETTINGS, "hi", stop=(longest,))[1].stop == (longest,)
    stop = ("ok", "", "s" * 65)
    assert violations(lambda: validate_generation(SETTINGS, "hi", stop=stop)) == [
        FieldViolation("stop[1]", "must be 1 to 64 characters (got 0)"),
        FieldViolation("stop[2]", "must be 1 to 64 characters (got 65)"),
    ]


def test_too_many_stop_strings_each_still_checked():
    stop = ("",) * 9
    assert fields(lambda: validate_generation(SETTINGS, "hi", stop=stop)) == [
        "stop",
        *(f"stop[{i}]" for i in range(9)),
    ]


def test_generation_reports_every_field_together():
    call = lambda: validate_generation(  # noqa: E731
        SETTINGS, "", 0, math.nan, 2.0, None, ("", *("x",) * 8)
    )
    assert fields(call) == ["prompt", "max_new_tokens", "temperature", "top_p", "stop", "stop[0]"]
