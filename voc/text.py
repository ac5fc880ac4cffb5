"""Russian text utilities shared by analyzers and topic discovery: tokens, sentences, lemmas, stop words.

razdel does tokenisation and sentence splitting (natasha's project; fast, rule-based, offline);
pymorphy3 gives lemmas. Lemmas are cached per word form: feedback vocabularies are small and repetitive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from voc_models.text import NEGATIONS, STOP_WORDS, Sentence, Token, sentences, tokens, words

__all__ = ["LEMMA_OVERRIDES", "NEGATIONS", "STOP_WORDS", "Sentence", "Token", "find_phrase", "lemma", "lemma_text",
           "lemmas", "lemmas_batch", "morph_analyzer", "normalize_phrase", "readings", "sentences", "tokens", "words"]

#: Normal forms pymorphy3 gets wrong for feedback vocabulary (plural-only nouns read as rare singulars);
#: applied to keywords and texts alike, so matching stays consistent and topic names read naturally.
LEMMA_OVERRIDES: dict[str, str] = {"деньга": "деньги", "сутка": "сутки"}


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


def morph_analyzer() -> Any:
    """The process's one pymorphy3 analyser (lemmas, name readings, place names share it)."""
    return _morph()


@lru_cache(maxsize=200_000)
def readings(word: str) -> tuple[str, float, float, float, bool]:
    """What voc reads from one pymorphy3 parse of a lower-cased word form, cached: the first reading's normal
    form («ё» → «е»), the summed scores of its first-name, surname and patronymic readings, and whether the word
    is in the dictionary. :func:`lemma` and the name redactor (``voc.pii.names.name_scores``) both read it, so a
    new word is parsed once, not once for each (the redactor runs first, on every word of every text)."""
    m = _morph()
    parses = m.parse(word)
    first = surname = patronymic = 0.0
    for p in parses:
        grams = p.tag.grammemes
        if "Name" in grams:
            first += p.score
        elif "Surn" in grams:
            surname += p.score
        elif "Patr" in grams:
            patronymic += p.score
    normal = parses[0].normal_form.replace("ё", "е") if parses else word
    return normal, first, surname, patronymic, bool(m.word_is_known(word))


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """Normal form of one lower-cased word form (cached)."""
    if not word or not ("а" <= word[0] <= "я" or word[0] == "ё"):
        return word
    normal = readings(word)[0]
    return LEMMA_OVERRIDES.get(normal, normal)


def lemmas(text: str, drop_stop_words: bool = False) -> list[str]:
    """Lemmas of the words of ``text`` in order."""
    out = [lemma(t.text) for t in words(text)]
    if drop_stop_words:
        out = [w for w in out if w not in STOP_WORDS and len(w) > 1]
    return out


def lemmas_batch(texts: Iterable[str], drop_stop_words: bool = False) -> list[list[str]]:
    return [lemmas(t, drop_stop_words) for t in texts]


def lemma_text(text: str, drop_stop_words: bool = False) -> str:
    """Lemmas joined by spaces: the input form for lemma-level vectorisers and keyword matching."""
    return " ".join(lemmas(text, drop_stop_words))


def normalize_phrase(phrase: str) -> tuple[str, ...]:
    """A keyword phrase as a tuple of lemmas, for matching against lemma sequences."""
    return tuple(lemmas(phrase))


def find_phrase(lemma_seq: Sequence[str], phrase: tuple[str, ...]) -> int:
    """Index of the first occurrence of ``phrase`` in ``lemma_seq``, or -1."""
    n = len(phrase)
    if n == 0:
        return -1
    first = phrase[0]
    for i, w in enumerate(lemma_seq):
        if w == first and tuple(lemma_seq[i : i + n]) == phrase:
            return i
    return -1
