"""Person-name masking with the morph and natasha engines, false positives, and Feedback records."""

from __future__ import annotations

import pytest

from voc.redact import Redactor
from voc.schema import DialogTurn, Feedback, SpeakerRole

ENGINES = ["morph", "natasha", "auto"]


@pytest.fixture(scope="module", params=ENGINES)
def redactor(request: pytest.FixtureRequest) -> Redactor:
    return Redactor(name_engine=request.param)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Меня зовут Иван Петров, помогите.", "Меня зовут [ИМЯ], помогите."),
        ("Оператор Марина помогла быстро.", "Оператор [ИМЯ] помогла быстро."),
        ("меня зовут марина сидорова", "меня зовут [ИМЯ]"),
        ("менеджер алексей обещал перезвонить", "менеджер [ИМЯ] обещал перезвонить"),
        ("Спасибо Анне Сергеевне за помощь!", "Спасибо [ИМЯ] за помощь!"),
        ("оператор Вера мне помогла", "оператор [ИМЯ] мне помогла"),
    ],
)
def test_names_masked(redactor: Redactor, text: str, expected: str) -> None:
    out, counts = redactor.redact(text)
    assert out == expected
    assert counts == {"name": 1}


@pytest.mark.parametrize(
    "text",
    [
        "Вера в лучшее осталась, но сервис подводит.",
        "Надежда умирает последней, жду возврат.",
        "Любовь к этому магазину прошла.",
        "Заказывал в Ozon и в Сбер Маркете, в Москве и в Казани всё быстрее.",
        "Раньше жил в Питере, там курьеры приезжают вовремя.",
        "Курьер опоздал на три часа, доставка ужасная.",
        "Спасибо, всё отлично! Рекомендую магазин.",
    ],
)
def test_no_false_positives(redactor: Redactor, text: str) -> None:
    out, counts = redactor.redact(text)
    assert out == text and counts == {}


def test_batch_matches_single(redactor: Redactor) -> None:
    texts = ["Оператор Ольга молодец", "Вера в лучшее", "звоните +7 912 345 67 89, спросите Игоря Смирнова"]
    assert redactor.redact_batch(texts) == [redactor.redact(t) for t in texts]
    assert redactor.redact_batch([]) == []


def test_names_off_keeps_names() -> None:
    out, counts = Redactor(names=False).redact("Оператор Марина, тел. 89123456789")
    assert out == "Оператор Марина, тел. [ТЕЛЕФОН]" and counts == {"phone": 1}


def test_idempotent_on_examples(redactor: Redactor) -> None:
    texts = ["Меня зовут Иван Петров, почта ivan@example.ru", "Оператор Марина Ивановна, 8-912-345-67-89"]
    for text in texts:
        once, _ = redactor.redact(text)
        assert redactor.redact(once) == (once, {})


def test_redact_record_masks_text_and_turns() -> None:
    turns = [
        DialogTurn(speaker=SpeakerRole.operator, text="Здравствуйте, меня зовут Марина.", start=0.0, end=2.0),
        DialogTurn(speaker=SpeakerRole.client, text="Мой номер 89123456789, почта a.b@example.com", start=2.5),
    ]
    record = Feedback(id="c1", text="\n".join(t.text for t in turns), channel="chat", turns=turns)
    masked, counts = Redactor(name_engine="morph").redact_record(record)
    assert masked.turns[0].text == "Здравствуйте, меня зовут [ИМЯ]."
    assert masked.turns[1].text == "Мой номер [ТЕЛЕФОН], почта [EMAIL]"
    assert masked.turns[1].start == 2.5 and masked.id == "c1"
    assert masked.text == "\n".join(t.text for t in masked.turns)
    assert counts == {"name": 1, "phone": 1, "email": 1}
    assert record.turns[0].text.endswith("Марина.")  # the input record is untouched


def test_redact_record_plain() -> None:
    record = Feedback(id="r1", text="Пишите на x@example.org")
    masked, counts = Redactor(names=False).redact_record(record)
    assert masked.text == "Пишите на [EMAIL]" and counts == {"email": 1}
