"""Cell parsers: dates, numbers, channels, speakers, yes/no."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.ingest.values import parse_bool, parse_channel, parse_datetime, parse_number, parse_speaker
from voc.schema import Channel, SpeakerRole

moments = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2100, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@given(moments)
def test_dates_round_trip_through_every_format(moment: datetime) -> None:
    assert parse_datetime(moment.isoformat()) == moment
    assert parse_datetime(moment.strftime("%d.%m.%Y %H:%M:%S")) == moment
    assert parse_datetime(moment.strftime("%Y-%m-%d %H:%M")) == moment.replace(second=0)
    assert parse_datetime(moment.strftime("%d.%m.%Y")) == moment.replace(hour=0, minute=0, second=0)
    assert parse_datetime(moment.strftime("%d/%m/%Y %H:%M")) == moment.replace(second=0)


@given(moments, st.integers(min_value=-12, max_value=14))
def test_aware_dates_become_naive_utc(moment: datetime, offset_hours: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(hours=offset_hours)))
    parsed = parse_datetime(aware.isoformat())
    assert parsed is not None and parsed.tzinfo is None
    assert parsed == aware.astimezone(UTC).replace(tzinfo=None)


@given(st.text(max_size=30))
def test_date_parser_returns_or_raises_value_error(raw: str) -> None:
    try:
        result = parse_datetime(raw)
    except ValueError:
        return
    assert result is None or isinstance(result, datetime)
    assert result is not None or not raw.strip()


def test_date_special_forms() -> None:
    assert parse_datetime("") is None
    assert parse_datetime("2024-03-01T10:00:00Z") == datetime(2024, 3, 1, 10)
    assert parse_datetime("45352") == datetime(2024, 3, 1)  # Excel serial
    assert parse_datetime("45352.5") == datetime(2024, 3, 1, 12)
    assert parse_datetime("1709287200") == datetime(2024, 3, 1, 10)  # Unix seconds
    assert parse_datetime("01.03.24") == datetime(2024, 3, 1)
    for bad in ("32.13.2024", "вчера", "2024-02-30", "12345"):
        with pytest.raises(ValueError):
            parse_datetime(bad)


@settings(max_examples=50)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3)))
def test_numbers_with_dot_or_comma(value: float) -> None:
    text = f"{value:.3f}"
    assert parse_number(text) == pytest.approx(value)
    assert parse_number(text.replace(".", ",")) == pytest.approx(value)


def test_number_errors() -> None:
    assert parse_number(" ") is None
    assert parse_number("1 000") == 1000
    for bad in ("семь", "5/5", "nan", "1e5x"):
        with pytest.raises(ValueError):
            parse_number(bad)


@pytest.mark.parametrize(
    ("raw", "channel"),
    [("отзыв", Channel.review), ("Опрос", Channel.survey), ("анкета", Channel.survey), ("ЧАТ", Channel.chat),
     ("звонок", Channel.call), ("Call center", Channel.call), ("почта", Channel.email), ("e-mail", Channel.email),
     ("соцсети", Channel.social), ("VK", Channel.social), ("Telegram", Channel.social), ("", None)],
)
def test_channel_synonyms(raw: str, channel: Channel | None) -> None:
    assert parse_channel(raw) == channel


def test_unknown_channel_and_speaker() -> None:
    with pytest.raises(ValueError, match="review"):
        parse_channel("голубиная почта")
    with pytest.raises(ValueError):
        parse_speaker("марсианин")


@pytest.mark.parametrize(
    ("raw", "role"),
    [("клиент", SpeakerRole.client), ("Customer", SpeakerRole.client), ("покупатель", SpeakerRole.client),
     ("оператор", SpeakerRole.operator), ("agent", SpeakerRole.operator), ("Менеджер", SpeakerRole.operator),
     ("support", SpeakerRole.operator), ("бот", SpeakerRole.bot), ("system", SpeakerRole.bot)],
)
def test_speaker_synonyms(raw: str, role: SpeakerRole) -> None:
    assert parse_speaker(raw) == role


def test_bools() -> None:
    assert parse_bool("Да") is True and parse_bool("true") is True and parse_bool("1") is True
    assert parse_bool("нет") is False and parse_bool("0") is False
    assert parse_bool("") is None
    with pytest.raises(ValueError):
        parse_bool("может быть")
