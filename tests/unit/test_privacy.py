"""Privacy rules: what lists and profiles show of an ID number and a phone."""

from __future__ import annotations

import pytest

from callcenter.crm.privacy import mask_id_number, mask_phones, normalise_id_number


def test_resident_id_keeps_region_and_last_four() -> None:
    assert mask_id_number("310101199001011234") == "3101**********1234"


def test_masked_id_keeps_its_length() -> None:
    assert len(mask_id_number("31010119900101123X")) == 18


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("E12345678", "E1*****78"),  # a passport: a quarter at each end
        ("H1234567", "H1****67"),  # a Home Return Permit
        ("1234567", "1*****7"),
        ("1234", "1**4"),
        ("123", "***"),  # too short to show anything
        ("", ""),
    ],
)
def test_short_documents_show_at_most_a_quarter_at_each_end(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked


@pytest.mark.parametrize("id_number", ["310101199001011234", "E12345678", "H1234567"])
def test_masked_id_hides_at_least_half(id_number: str) -> None:
    masked = mask_id_number(id_number)
    assert masked.count("*") >= len(id_number) / 2


def test_phones_in_lists_hide_four_digits_before_the_last_four() -> None:
    assert mask_phones(["+8613800138000", "+85291234567"]) == ("+86138****8000", "+852****4567")


def test_id_numbers_are_searched_without_spaces_and_in_upper_case() -> None:
    assert normalise_id_number(" 3101 0119 9001 01123x ") == "31010119900101123X"
