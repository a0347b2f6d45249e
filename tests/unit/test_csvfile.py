"""Every CSV a person may open defuses formula-looking text, and leaves numbers alone."""

from __future__ import annotations

import io

from exports.csvfile import safe_cell, write_csv


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text() -> None:
    for attack in ('=HYPERLINK("https://evil.example")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(attack) == "'" + attack


def test_numbers_blanks_and_plain_text_are_written_as_they_are() -> None:
    assert [safe_cell(v) for v in (None, -0.35, "-0.350", "+12", 7, True, "Clínica Norte")] == [
        "",
        "-0.35",
        "-0.350",
        "+12",
        "7",
        "true",
        "Clínica Norte",
    ]


def test_write_csv_defuses_every_cell_including_the_header() -> None:
    out = io.StringIO()
    assert write_csv(out, ["name", "=evil"], [["=1+1", None], ["ok", -3]]) == 2
    assert out.getvalue() == "name,'=evil\n'=1+1,\nok,-3\n"
