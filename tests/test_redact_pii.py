"""Structured PII masking: phones, e-mails, cards (Luhn), passports, СНИЛС, ИНН, accounts — synthetic ids only."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.redact import Redactor, inn_valid, luhn_valid, redact_structured, snils_valid


def make_card(rng: random.Random, length: int = 16) -> str:
    body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(length - 2))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("no Luhn digit")


def make_snils(rng: random.Random) -> str:
    body = f"{rng.randint(2_000_000, 999_999_999):09d}"
    total = sum(int(d) * w for d, w in zip(body, range(9, 0, -1), strict=True)) % 101
    return body + f"{0 if total == 100 else total:02d}"


def make_inn(rng: random.Random, length: int) -> str:
    w10, w11, w12 = (2, 4, 10, 3, 5, 9, 4, 6, 8), (7, 2, 4, 10, 3, 5, 9, 4, 6, 8), (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    digit = lambda s, w: str(sum(int(a) * b for a, b in zip(s, w, strict=False)) % 11 % 10)  # noqa: E731
    if length == 10:
        body = "".join(str(rng.randint(0, 9)) for _ in range(9))
        return body + digit(body, w10)
    body = "".join(str(rng.randint(0, 9)) for _ in range(10))
    body += digit(body, w11)
    return body + digit(body, w12)


def invalid(number: str) -> str:
    """The same number with its last digit changed (breaks any check digit)."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


RNG = random.Random(7)
CARD = make_card(RNG)
SNILS = make_snils(RNG)
INN10, INN12 = make_inn(RNG, 10), make_inn(RNG, 12)


def masked(text: str) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    return redact_structured(text, counts), counts


def test_checksum_helpers() -> None:
    assert luhn_valid(CARD) and not luhn_valid(invalid(CARD))
    assert snils_valid(SNILS) and not snils_valid(invalid(SNILS))
    assert inn_valid(INN10) and inn_valid(INN12) and not inn_valid(invalid(INN12))
    assert not luhn_valid("12ab") and not inn_valid("123")


@pytest.mark.parametrize(
    "phone", ["+7 (912) 345-67-89", "89123456789", "8-912-345-67-89", "+79123456789", "7 912 345 67 89",
              "8 (495) 123-45-67"],
)
def test_phone_formats(phone: str) -> None:
    out, counts = masked(f"Перезвоните на {phone}, пожалуйста.")
    assert out == "Перезвоните на [ТЕЛЕФОН], пожалуйста." and counts == {"phone": 1}


def test_phone_negatives() -> None:
    for text in ["Заказ 123456", "Цена 8 912 рублей", "Трек 1912345678901234567890123"]:
        assert masked(text)[1].get("phone", 0) == 0, text


def test_email() -> None:
    out, counts = masked("Пишите на test.user+1@example.ru или admin@пример.рф")
    assert out == "Пишите на [EMAIL] или [EMAIL]" and counts == {"email": 2}
    assert masked("собака @ мейл точка ру")[1] == {}


def test_card_luhn_and_groups() -> None:
    spaced = " ".join(CARD[i : i + 4] for i in range(0, 16, 4))
    dashed = "-".join(CARD[i : i + 4] for i in range(0, 16, 4))
    for form in (CARD, spaced, dashed):
        assert masked(f"Карта {form} заблокирована")[0] == "Карта [КАРТА] заблокирована"
    order = invalid(CARD)  # a 16-digit order number that fails Luhn stays
    assert masked(f"Номер заказа {order}")[0] == f"Номер заказа {order}"
    card19 = make_card(RNG, 19)
    assert masked(card19)[0] == "[КАРТА]"


def test_passport() -> None:
    for form in ("45 06 123456", "4506 123456", "серия 4506 номер 123456"):
        assert masked(f"Паспорт: {form}.")[1] == {"passport": 1}, form
    assert masked("мой паспорт 4506123456")[0] == "мой паспорт [ПАСПОРТ]"
    # the bare 10-digit form without context is not a passport (a valid-ИНН one would be an ИНН)
    assert masked(f"заказ {invalid(INN10)}")[1] == {}


def test_snils() -> None:
    formatted = f"{SNILS[:3]}-{SNILS[3:6]}-{SNILS[6:9]} {SNILS[9:]}"
    assert masked(f"СНИЛС {formatted}")[0] == "СНИЛС [СНИЛС]"
    assert masked(f"номер {formatted}")[1] == {"snils": 1}
    bad = invalid(SNILS)
    assert masked(f"код {bad[:3]}-{bad[3:6]}-{bad[6:9]} {bad[9:]}")[1].get("snils", 0) == 0
    assert masked(f"мой СНИЛС {bad}")[1] == {"snils": 1}  # explicit context masks any 11-digit number


def test_inn() -> None:
    assert masked(f"ИНН {INN12}")[0] == "ИНН [ИНН]"
    assert masked(f"организация {INN10} выставила счёт")[1] == {"inn": 1}
    assert masked(f"ИНН: {invalid(INN10)}")[1] == {"inn": 1}  # context wins over the checksum
    assert masked(f"артикул {invalid(INN12)}")[1] == {}


def test_account() -> None:
    assert masked("р/с 40817810099910004312")[0] == "р/с [СЧЁТ]"
    assert masked("счёт 4081 7810 0999 1000 4312")[1] == {"account": 1}
    assert masked("номер 408178100999100043121")[1] == {}  # 21 digits is no account


def test_offsets_keep_other_text() -> None:
    text = f"А {CARD} Б test@example.com В +7 912 345-67-89 Г"
    out, counts = masked(text)
    assert out == "А [КАРТА] Б [EMAIL] В [ТЕЛЕФОН] Г"
    assert counts == {"card": 1, "email": 1, "phone": 1}


def test_redactor_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="name_engine"):
        Redactor(name_engine="spacy")
    with pytest.raises(TypeError, match="text #1"):
        Redactor(names=False).redact_batch(["ok", None])  # type: ignore[list-item]


ALPHABET = st.sampled_from(list("0123456789 -+()@.абвгдАБВ ИННснилспаспорт\n"))
noise = st.text(alphabet=ALPHABET, max_size=60)


@st.composite
def texts_with_cards(draw: st.DrawFn) -> tuple[str, str]:
    rng = random.Random(draw(st.integers(0, 10**6)))
    card = make_card(rng, draw(st.integers(13, 19)))
    sep = draw(st.sampled_from(["", " ", "-"]))
    form = sep.join(card[i : i + 4] for i in range(0, len(card), 4)) if sep and len(card) == 16 else card
    return f"{draw(noise)} {form} {draw(noise)}", card


@settings(max_examples=150, deadline=None)
@given(texts_with_cards())
def test_no_luhn_card_survives(case: tuple[str, str]) -> None:
    import re

    text, card = case
    out, _ = masked(text)
    assert card not in re.sub(r"[ \-]", "", out)
    for run in re.findall(r"\d+", out):
        assert not (13 <= len(run) <= 19 and luhn_valid(run)), (text, out)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | noise)
def test_idempotent_and_never_raises(text: str) -> None:
    red = Redactor(name_engine="morph")
    once, _ = red.redact(text)
    twice, counts = red.redact(once)
    assert twice == once and counts == {}


def test_card_after_other_digits() -> None:
    spaced = " ".join(CARD[i : i + 4] for i in range(0, 16, 4))
    assert masked(f"№ 1 {spaced}")[0] == "№ 1 [КАРТА]"
