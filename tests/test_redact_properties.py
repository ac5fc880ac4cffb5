"""Hypothesis properties of masking: idempotent, never grows a digit run, and no embedded PII value survives."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from voc.pii.structured import luhn_valid
from voc.redact import Redactor

RED = Redactor(name_engine="morph")
FILLER = st.lists(
    st.sampled_from("очень долго ждал ответа сервис плохо хорошо вчера снова опять быстро спасибо и но".split()),
    max_size=6,
).map(" ".join)
TEXTISH = st.text(alphabet=st.sampled_from(list("0123456789 -+()@.,:№абвгдеАБВГДЕ\n")), max_size=80)


def _luhn_card(rng: random.Random, length: int) -> str:
    body = str(rng.randint(2, 5)) + "".join(str(rng.randint(0, 9)) for _ in range(length - 2))
    return next(body + c for c in "0123456789" if luhn_valid(body + c))


@st.composite
def pii_values(draw: st.DrawFn) -> tuple[str, str]:
    """(kind, value) in one of the formats the redactor promises to catch."""
    rng = random.Random(draw(st.integers(0, 10**9)))
    kind = draw(st.sampled_from(["phone", "email", "card", "account", "address", "name"]))
    if kind == "phone":
        d = "9" + "".join(str(rng.randint(0, 9)) for _ in range(9))
        fmt = draw(st.sampled_from(["+7 {a} {b}-{c}-{e}", "8 ({a}) {b}-{c}-{e}", "8{a}{b}{c}{e}", "+7{a}{b}{c}{e}",
                                    "{a}-{b}-{c}-{e}", "({a}) {b} {c} {e}", "8 {a} {g} {h} {i}", "{a}.{b}.{c}.{e}"]))
        value = fmt.format(a=d[:3], b=d[3:6], c=d[6:8], e=d[8:], g=d[3:5], h=d[5:7], i=d[7:])
    elif kind == "email":
        user = draw(st.from_regex(r"[a-z][a-z0-9._]{1,10}[a-z0-9]", fullmatch=True))
        value = user + draw(st.sampled_from(["@mail.ru", "@gmail.com", " (собака) yandex.ru", "[at]bk.ru"]))
    elif kind == "card":
        card = _luhn_card(rng, 16)
        sep = draw(st.sampled_from(["", " ", "-"]))
        value = sep.join(card[i : i + 4] for i in range(0, 16, 4))
    elif kind == "account":
        value = "40817810" + "".join(str(rng.randint(0, 9)) for _ in range(12))
    elif kind == "address":
        street = draw(st.sampled_from(["ул. Ленина", "улица Садовая", "проспект Мира", "пр-т Победы"]))
        value = f"{street}, д. {rng.randint(1, 200)}, кв. {rng.randint(1, 400)}"
    else:
        value = draw(st.sampled_from(["Иван Петров", "Иванов И.И.", "И. И. Иванов", "Мария Сергеевна",
                                      "Петрова Анна Ивановна", "Ольга Смирнова"]))
    return kind, value


@settings(max_examples=120)
@given(FILLER, pii_values(), FILLER)
def test_embedded_values_never_survive(left: str, kind_value: tuple[str, str], right: str) -> None:
    kind, value = kind_value
    text = f"{left} {value}, {right}".strip()
    out, counts = RED.redact(text)
    assert value not in out and counts.get(kind, 0) >= 1, (text, out)
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7:
        assert not re.search(r"\d{5}", re.sub(r"[ \-()]", "", out)), (text, out)


@settings(max_examples=150)
@given(st.one_of(TEXTISH, st.text(max_size=120), st.builds(lambda a, v, b: f"{a} {v[1]} {b}", FILLER,
                                                             pii_values(), TEXTISH)))
def test_idempotent_and_no_digit_run_grows(text: str) -> None:
    once, _ = RED.redact(text)
    assert RED.redact(once) == (once, {})
    runs_in = re.findall(r"\d+", text)
    for run in re.findall(r"\d+", once):  # masking only removes digits, it never joins runs
        assert any(run in r for r in runs_in), (text, once)


@settings(max_examples=60)
@given(st.text(max_size=60))
def test_redact_value_idempotent(value: str) -> None:
    once, _ = RED.redact_value(value)
    assert RED.redact_value(once) == (once, {})
