"""The data model: validation messages and dialog helpers."""

import pytest
from pydantic import ValidationError

from voc.schema import MAX_TEXT_CHARS, DialogTurn, Feedback


def test_text_must_be_present_and_bounded():
    with pytest.raises(ValidationError, match="text is empty"):
        Feedback(id="1", text="   ")
    with pytest.raises(ValidationError, match="longer than"):
        Feedback(id="1", text="а" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(ValidationError, match="channel"):
        Feedback(id="1", text="ок", channel="fax")


def test_turn_and_client_spans():
    turns = [DialogTurn(speaker="bot", text="Здравствуйте!"), DialogTurn(speaker="client", text="Где заказ?"),
             DialogTurn(speaker="operator", text="Уже едет."), DialogTurn(speaker="client", text="Где заказ?")]
    rec = Feedback(id="1", text="\n".join(t.text for t in turns), turns=turns, channel="chat")
    spans = rec.turn_spans()
    assert [rec.text[a:b] for a, b in spans] == [t.text for t in turns]
    assert spans[1] != spans[3]  # repeated turns are located in order
    assert rec.client_spans() == [spans[1], spans[3]]
    assert rec.client_text() == "Где заказ?\nГде заказ?"
    assert Feedback(id="2", text="просто отзыв").client_spans() is None
