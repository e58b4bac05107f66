from __future__ import annotations

import pytest

from opsbook.units import (
    format_bytes,
    format_config_duration,
    format_duration,
    parse_duration,
    parse_percent,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("5s", 5), ("2m", 120), ("1h", 3600), ("30d", 2592000), ("1h30m", 5400),
     ("1.5s", 1.5), ("1w", 604800)],
)  # fmt: skip
def test_durations_parse_with_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "fast", "5 sec", "s5", "5s5", "-5s"])
def test_bad_durations_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="a duration such as"):
        parse_duration(text)


def test_percent_and_size() -> None:
    assert parse_percent("90%") == 90
    assert parse_percent(" 12.5% ") == 12.5
    for bad in ("90", "101%", "x%"):
        with pytest.raises(ValueError, match="percentage"):
            parse_percent(bad)
    assert parse_size("10GiB") == 10 * 1024**3
    assert parse_size("512MB") == 512 * 1000**2
    with pytest.raises(ValueError, match="a size such as"):
        parse_size("lots")


def test_formatting_round_trips_config_durations() -> None:
    for text in ("5s", "2m", "1h", "30d", "500ms"):
        assert format_config_duration(parse_duration(text)) == text
    assert format_duration(0.0123) == "12 ms"
    assert format_duration(2.0) == "2 s"
    assert format_duration(90061) == "25h 1m"
    assert format_bytes(1536) == "1.5 KiB"
