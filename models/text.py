"""Tokens, sentences, stop words and negations: the text primitives the models and the analyzers share.

The lowest layer of voc: it imports nothing from voc, so the model kinds (this package) never depend on the
core library that uses them; :mod:`voc.text` re-exports these and adds lemmas. razdel does tokenisation and
sentence splitting (natasha's project; fast, rule-based, offline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from razdel import sentenize, tokenize

_WORD_RE = re.compile(r"[А-Яа-яЁёA-Za-z][А-Яа-яЁёA-Za-z\-]*")

#: Russian function words plus feedback filler that carries no topic.
STOP_WORDS: frozenset[str] = frozenset(
    """
    а без более бы был была были было быть в вам вас весь во вот все всё всего всех вы где да даже для до
    его ее её если есть еще ещё же за здесь и из или им их к как какой когда кто ли либо мне меня мой
    мы на над нас наш не него нее неё нет ни них но ну о об однако он она они оно от очень по под после
    при про раз с сам свой себя со так также такой там те тем то того тоже той только том ту тут ты у
    уже чем что чтобы эта эти это этот я мочь весь который свой вообще просто сказать самый какой-то
    ваш наш еще это всегда никогда сейчас потом тогда где-то кто-то что-то день раз год
    """.split()
)

#: Negation words that flip the polarity of the next word (used by lexicon-based evidence).
NEGATIONS: frozenset[str] = frozenset({"не", "нет", "ни", "никогда", "ничего", "никак", "без"})


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """razdel tokens with character offsets."""
    return [Token(t.text, t.start, t.stop) for t in tokenize(text)]


def words(text: str) -> list[Token]:
    """Word tokens only (letters, hyphenated words), lower-cased, with offsets."""
    return [Token(m.group(0).lower(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]


def sentences(text: str) -> list[Sentence]:
    """Sentences with character offsets (razdel)."""
    return [Sentence(s.text, s.start, s.stop) for s in sentenize(text)]
