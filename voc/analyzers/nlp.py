"""The spaCy side of the analyzers: a blank Russian ``Language`` whose Docs the components read and annotate.

``make_nlp()`` is ``spacy.blank("ru")`` with

* a tokenizer whose word tokens are exactly ``voc.text.words`` (letters and inner hyphens; digits,
  punctuation runs and extra whitespace are tokens of their own), so lexicon cues, negation windows and the
  TF-IDF similarity read the same words they always did;
* ``voc_lemmatizer`` — spaCy's pymorphy3 Russian lemmatizer (``RussianLemmatizer``) read without POS tags:
  a blank pipeline has no tagger, and spaCy's ``pymorphy3`` mode then returns the lower-cased form (warning
  W108), so the rule is pymorphy3's most probable parse (``voc.text.lemma``: ё→е, a few overrides), cached per
  token string (pymorphy3 is the cost) and written with one ``Doc.from_array`` call per Doc;
* ``voc_sentencizer`` — sentence starts from razdel (``voc.text.sentences``), which knows Russian abbreviations
  and initials that spaCy's punctuation sentencizer splits on.

Each Doc carries its record and the Findings being filled (``Doc._.record``, ``Doc._.findings``); the analyzers'
outputs are readable as ``Doc._.sentiment``, ``Doc._.emotions``, ``Doc._.topics``, ``Doc._.cause``,
``Doc._.journey_stage``, … (views of the Findings fields, so the Findings stay the one store of a row's result)
and their evidence as span groups (``doc.spans["evidence:<component>"]``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import spacy
from spacy.attrs import IDX, LEMMA, LENGTH, LOWER, ORTH, SENT_START
from spacy.lang.ru.lemmatizer import RussianLemmatizer
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from voc.schema import Evidence, Feedback, Findings
from voc.text import lemma, morph_analyzer, sentences

if TYPE_CHECKING:
    from thinc.types import Ints2d

_LETTER = "А-Яа-яЁёA-Za-z"
_TOKEN_RE = re.compile(rf"[{_LETTER}][{_LETTER}\-]*|\d+|[^\s{_LETTER}\d]+|\s+")
#: Findings fields readable (and writable) as ``Doc._.<field>``
FINDINGS_FIELDS: tuple[str, ...] = tuple(
    name for name in Findings.model_fields if name not in {"feedback_id", "pii_masked", "model_versions"})
EVIDENCE_GROUP = "evidence:{}"


class WordTokenizer:
    """Text → Doc whose word tokens are ``voc.text.words``; every character stays in a token or its space."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        for m in _TOKEN_RE.finditer(text):
            tok = m.group()
            if tok[0].isspace() and tok[0] == " " and words and not spaces[-1]:
                spaces[-1] = True
                tok = tok[1:]
                if not tok:
                    continue
            words.append(tok)
            spaces.append(False)
        return Doc(self.vocab, words=words, spaces=spaces)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:  # noqa: ARG002 - spaCy API
        for text in texts:
            yield self(text)


_WORD_START = frozenset([chr(c) for c in range(0x410, 0x450)] + list("ЁёABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))


def is_word(token_text: str) -> bool:
    """Whether a token of :class:`WordTokenizer` is a word (``voc.text.words`` would yield it)."""
    return token_text[:1] in _WORD_START


class CachedRussianLemmatizer(RussianLemmatizer):
    """spaCy's pymorphy3 Russian lemmatizer without a tagger: most probable parse, cached per token string."""

    def __init__(self, vocab: Vocab, name: str = "voc_lemmatizer") -> None:
        self._morph = morph_analyzer()  # one MorphAnalyzer per process, shared with voc.text
        super().__init__(vocab, None, name, mode="pymorphy3_lookup", overwrite=True)
        self.lemmatize = self.first_parse_lemmatize
        self._cache: dict[int, int] = {}

    def first_parse_lemmatize(self, token: Any) -> list[str]:
        return [lemma(token.lower_)]

    def _add(self, orth: int) -> int:
        h = self.vocab.strings.add(lemma(self.vocab.strings[orth].lower()))
        self._cache[orth] = h
        return h

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        cache = self._cache
        orths = doc.to_array(ORTH).tolist()
        lemmas = [cache[o] if o in cache else self._add(o) for o in orths]
        doc.from_array([LEMMA], _column(np.array(lemmas, dtype=np.uint64)))
        return doc


def _column(values: np.ndarray) -> Ints2d:
    """One ``Doc.from_array`` column: uint64, as spaCy's Cython reads it (its stub names thinc's ``Ints2d``)."""
    return cast("Ints2d", values.astype(np.uint64, copy=False).reshape(-1, 1))


@Language.factory("voc_lemmatizer", assigns=["token.lemma"])
def make_lemmatizer(nlp: Language, name: str) -> CachedRussianLemmatizer:
    return CachedRussianLemmatizer(nlp.vocab, name)


def doc_text(doc: Doc) -> str:
    """The Doc's text: its record's (``Doc.text`` joins every token anew)."""
    record = record_of(doc)
    return record.text if record is not None else doc.text


class RazdelSentencizer:
    """Sentence starts from razdel, written as ``token.is_sent_start``; the sentences' exact character spans are
    kept too (``sentence_spans``), so readers need not rebuild them from tokens."""

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            doc.user_data["voc_sents"] = []
            return doc
        sents = sentences(doc_text(doc))
        doc.user_data["voc_sents"] = [(s.text, s.start, s.end) for s in sents]
        flags = [-1] * n  # -1: not a start (0 would mean unknown)
        flags[0] = 1
        idx = doc.to_array(IDX).tolist()
        for s in sents[1:]:
            k = bisect_right(idx, s.start) - 1
            if k > 0:
                flags[k] = 1
        doc.from_array([SENT_START], _column(np.array(flags, dtype=np.int64)))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 1000) -> Iterable[Doc]:  # noqa: ARG002 - spaCy API
        for doc in docs:
            yield self(doc)


@Language.factory("voc_sentencizer", assigns=["token.is_sent_start", "doc.sents"])
def make_sentencizer(nlp: Language, name: str) -> RazdelSentencizer:  # noqa: ARG001 - spaCy factory API
    return RazdelSentencizer()


def _field_extension(field: str) -> None:
    Doc.set_extension(field, getter=lambda doc: getattr(findings_of(doc), field),
                      setter=lambda doc, value: setattr(findings_of(doc), field, value), force=True)


def register_extensions() -> None:
    """``Doc._.record``, ``Doc._.findings`` and one ``Doc._.<field>`` view per Findings field."""
    if Doc.has_extension("findings"):
        return
    Doc.set_extension("record", default=None)
    Doc.set_extension("findings", default=None)
    for field in FINDINGS_FIELDS:
        _field_extension(field)


def make_nlp(*, lemmas: bool = True, sentences: bool = True) -> Language:
    """``spacy.blank("ru")`` with the word tokenizer, the cached pymorphy3 lemmatizer and the sentencizer (each
    left out when no component needs it)."""
    register_extensions()
    nlp = spacy.blank("ru")
    # a new token string costs a Lexeme with ~20 computed attributes (like_num, is_stop, …) no component reads
    # spaCy's Vocab stub leaves out the (Cython) lex_attr_getters attribute
    getters = nlp.vocab.lex_attr_getters  # type: ignore[attr-defined]
    nlp.vocab.lex_attr_getters = {k: v for k, v in getters.items() if k == LOWER}  # type: ignore[attr-defined]
    nlp.tokenizer = WordTokenizer(nlp.vocab)
    if lemmas:
        nlp.add_pipe("voc_lemmatizer")
    if sentences:
        nlp.add_pipe("voc_sentencizer")
    return nlp


@lru_cache(maxsize=1)
def shared_nlp() -> Language:
    """The process's default nlp (keyword patterns, analyzers called on records outside a Pipeline)."""
    return make_nlp()


#: where ``Doc._.record`` / ``Doc._.findings`` live in ``doc.user_data`` (spaCy's key of a Doc extension)
_RECORD_KEY = ("._.", "record", None, None)
_FINDINGS_KEY = ("._.", "findings", None, None)


def _user_value(doc: Doc, key: tuple[str, str, None, None]) -> Any:
    """``doc.user_data[key]`` or None (a Doc never attached); spaCy keys extensions by tuples, its stub says str."""
    return cast("dict[Any, Any]", doc.user_data).get(key)


def record_of(doc: Doc) -> Feedback:
    """``doc._.record`` without building an ``Underscore`` (the analyzers read it once per row and component)."""
    return _user_value(doc, _RECORD_KEY)


def findings_of(doc: Doc) -> Findings:
    """``doc._.findings``, read the same way."""
    return _user_value(doc, _FINDINGS_KEY)


def attach(doc: Doc, record: Feedback, findings: Findings, span_groups: bool = True) -> Doc:
    """Give a Doc its record and the Findings to fill; ``span_groups=False``: evidence goes to the Findings only
    (a caller that drops the Docs, such as ``Pipeline.analyze``, saves building the groups)."""
    doc._.record = record
    doc._.findings = findings
    if not span_groups:
        doc.user_data["voc_no_spans"] = True
    return doc


def make_docs(records: Sequence[Feedback], findings: Sequence[Findings], nlp: Language | None = None,
              batch_size: int = 1000) -> list[Doc]:
    """Docs of ``records`` (tokenised, lemmatised, split into sentences) carrying the records and findings."""
    nlp = nlp or shared_nlp()
    docs = (attach(nlp.make_doc(r.text), r, f) for r, f in zip(records, findings, strict=True))
    return list(nlp.pipe(docs, batch_size=batch_size))


def lemma_doc(text: str, nlp: Language | None = None) -> Doc:
    """A tokenised, lemmatised Doc of a text that is not a record (a dialog turn not found in its text)."""
    nlp = nlp or shared_nlp()
    return nlp.get_pipe("voc_lemmatizer")(nlp.make_doc(text))


def sentence_spans(doc: Doc) -> list[tuple[str, int, int]]:
    """The Doc's sentences as (text, start, end), surrounding whitespace left out (from ``voc_sentencizer``, else
    from ``doc.sents``)."""
    cached = doc.user_data.get("voc_sents")
    if cached is not None:
        return cached
    if not len(doc):
        return []
    text = doc_text(doc)
    out = []
    for sent in doc.sents:
        a, b = sent.start_char, sent.end_char
        piece = text[a:b]
        stripped = piece.strip()
        if stripped:
            a += len(piece) - len(piece.lstrip())
            out.append((stripped, a, a + len(stripped)))
    return out


def word_view(doc: Doc) -> tuple[list[str], list[tuple[int, int]], dict[int, int]]:
    """The Doc's words: their lemmas, character spans, and token index → word index (cached on the Doc)."""
    cached = doc.user_data.get("voc_words")
    if cached is None:
        lemmas: list[str] = []
        spans: list[tuple[int, int]] = []
        index: dict[int, int] = {}
        text, strings = doc_text(doc), doc.vocab.strings
        for i, (start, length, lem) in enumerate(doc.to_array([IDX, LENGTH, LEMMA]).tolist() if len(doc) else []):
            if text[start] in _WORD_START:
                index[i] = len(lemmas)
                lemmas.append(strings[lem])
                spans.append((start, start + length))
        cached = doc.user_data["voc_words"] = (lemmas, spans, index)
    return cached


def add_evidence(doc: Doc, component: str, items: Iterable[Evidence]) -> None:
    """Append evidence to the row's Findings and, where it has offsets, to the Doc's span group of the component
    (``doc.spans["evidence:<component>"]``, span label = evidence label, ``attrs["weights"]`` in span order)."""
    items = list(items)
    if not items:
        return
    findings_of(doc).evidence.extend(items)
    if "voc_no_spans" in doc.user_data:
        return
    key = EVIDENCE_GROUP.format(component)
    group = doc.spans[key] if key in doc.spans else None
    spans, weights = [], []
    for e in items:
        if e.start is None or e.end is None:
            continue
        span = doc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
        if span is not None:
            spans.append(span)
            weights.append(e.weight)
    if group is None:
        doc.spans[key] = spans
        doc.spans[key].attrs["weights"] = weights
    else:
        group.extend(spans)
        group.attrs["weights"] = [*group.attrs.get("weights", []), *weights]
