"""TF-IDF evidence internals kept fast without changing results: the shared phrase index, its batched
featurisation, and the regex-based span search (checked against the plain-loop definitions)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer

from voc_models.tfidf import (
    _WORD_TOKEN,
    PhraseIndex,
    _is_word_char,
    _locate,
    normalize,
    phrase_index,
)

_TEXTS = ["Привет, мир! Всё хорошо", "ужасный  сервис\tи\nплохо", "я ок 😊", "a b c", "e-mail: test_1",
          "деньги не вернули, не вернули", "оператор_1 помог"]
_ALPHABET = "абвгдеёжЖ яо😊\t\n\u00a0\x00.,!-_1a"


def _vocab() -> tuple[list[str], list[str]]:
    word = CountVectorizer(ngram_range=(1, 2), token_pattern=_WORD_TOKEN, lowercase=False, preprocessor=normalize)
    char = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, preprocessor=normalize)
    word.fit(_TEXTS)
    char.fit(_TEXTS)
    return [str(f) for f in word.get_feature_names_out()], [str(f) for f in char.get_feature_names_out()]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, min_size=1, max_size=25), min_size=2, max_size=8))
def test_prepared_phrases_equal_one_at_a_time(phrases):
    word_vocab, char_vocab = _vocab()
    batched, single = PhraseIndex(word_vocab, char_vocab), PhraseIndex(word_vocab, char_vocab)
    batched.prepare(phrases)
    for phrase in phrases:
        got, want = batched.features(phrase), single.features(phrase)
        assert got.dtype == want.dtype == np.int64
        np.testing.assert_array_equal(got, want)
        assert list(want) == sorted(set(want.tolist()))


def test_phrase_index_is_shared_by_equal_vocabularies():
    word_vocab, char_vocab = _vocab()
    index = phrase_index(word_vocab, char_vocab)
    assert phrase_index(list(word_vocab), list(char_vocab)) is index  # equal, not the same lists
    assert phrase_index(word_vocab[:-1], char_vocab) is not index


def test_word_regex_is_is_word_char():
    """``_locate`` skips runs of word characters with ``\\w``: the same characters as ``_is_word_char``."""
    word = re.compile(r"\w")
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        assert (word.match(ch) is not None) == _is_word_char(ch, 0), hex(cp)


def _locate_loops(feature: str, is_word: bool, text: str, windows: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """``_locate`` as first written, with character-by-character loops (the definition the fast one keeps)."""
    if is_word:
        tokens = feature.split(" ")
        for lo, hi in windows:
            at = text.find(tokens[0], lo, hi)
            while at != -1:
                end = at + len(tokens[0])
                ok = not _is_word_char(text, at - 1) and not _is_word_char(text, end)
                for tok in tokens[1:]:
                    if not ok:
                        break
                    gap = end
                    while gap < hi and not _is_word_char(text, gap):
                        gap += 1
                    ok = gap > end and text.startswith(tok, gap) and gap + len(tok) <= hi \
                        and not _is_word_char(text, gap + len(tok))
                    end = gap + len(tok)
                if ok:
                    return at, end
                at = text.find(tokens[0], at + 1, hi)
        return None
    needle = feature.strip()
    if not needle:
        return None
    for lo, hi in windows:
        at = text.find(needle, lo, hi)
        while at != -1:
            end = at + len(needle)
            if (not feature.startswith(" ") or not _is_word_char(text, at - 1)) and \
                    (not feature.endswith(" ") or not _is_word_char(text, end)):
                s, e = at, end
                while s > lo and _is_word_char(text, s - 1):
                    s -= 1
                while e < hi and _is_word_char(text, e):
                    e += 1
                return s, e
            at = text.find(needle, at + 1, hi)
    return None


_FEATURES = st.one_of(
    st.builds(lambda w, is_word: (w, is_word), st.sampled_from(["ок", "не", "не ок", "ок ок", "аб_1", "я"]),
              st.just(True)),
    st.builds(lambda f: (f, False), st.sampled_from([" ок", "ок ", " не ", "б,", " а", "к!", "_1", "ё", " "])),
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="оканебё_1 ,!\n-😊", max_size=40), _FEATURES, st.integers(0, 40), st.integers(0, 45))
def test_locate_equals_the_loop_definition(text, feature, lo, hi):
    for windows in ([(0, len(text))], [(min(lo, hi), max(lo, hi))], [(lo, hi), (0, len(text))]):
        assert _locate(feature[0], feature[1], text, windows) == _locate_loops(feature[0], feature[1], text, windows)
