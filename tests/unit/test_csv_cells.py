"""The report CSVs (callcenter/api/schemas/callstats.py rows_csv): text a spreadsheet would
run as a formula is quoted with an apostrophe, numbers stay numbers, null is empty."""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel

from callcenter.api.schemas.callstats import rows_csv


class Row(BaseModel):
    name: str | None
    value: float | None


def test_formula_like_text_is_quoted_and_numbers_are_left_alone() -> None:
    rows = [
        Row(name='=HYPERLINK("http://evil.example","x")', value=-3.5),
        Row(name="+86 hotline", value=None),
        Row(name="-minus", value=0),
        Row(name="@SUM(A1)", value=1),
        Row(name="王芳", value=2),
        Row(name=None, value=3),
    ]
    text = rows_csv(rows, ["name", "value"]).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines == [
        ["name", "value"],
        ['\'=HYPERLINK("http://evil.example","x")', "-3.5"],
        ["'+86 hotline", ""],
        ["'-minus", "0.0"],
        ["'@SUM(A1)", "1.0"],
        ["王芳", "2.0"],
        ["", "3.0"],
    ]
