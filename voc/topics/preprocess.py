"""Russian preprocessing for topic discovery: greetings and politeness removed, lemmas, stop words.

Topic models see *lemma text* (lemmas joined by spaces): the TF-IDF embedder and the c-TF-IDF
CountVectorizer both work on it, so «курьер опоздал» and «курьера опоздали» are the same document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from voc.text import STOP_WORDS, lemmas

#: Politeness formulas removed before lemmatisation (they open and close half of all feedback).
_FORMULA_RE = re.compile(
    r"\b(?:добр(?:ый|ого|ое)\s+(?:день|дня|вечер|вечера|утро|утра|времени\s+суток)|здравствуйте|здравствуй|"
    r"привет|спасибо(?:\s+большое)?|благодарю|пожалуйста|всего\s+доброго|заранее\s+спасибо|с\s+уважением)\b",
    re.IGNORECASE,
)

#: Lemmas that carry no topic in customer feedback (on top of voc.text.STOP_WORDS).
DOMAIN_STOP_WORDS: frozenset[str] = frozenset(
    """
    спасибо здравствуйте здравствуй привет добрый пожалуйста благодарить уважаемый заранее уважение
    отзыв написать писать хотеть хотеться сказать говорить вопрос ситуация вообще итог итого общий
    человек который свой мой ваш весь это этот такой какой очень просто ещё еще уже также
    один два три первый второй получаться получиться стать являться быть иметь делать сделать
    """.split()
)

ALL_STOP_WORDS: frozenset[str] = STOP_WORDS | DOMAIN_STOP_WORDS


def strip_formulas(text: str) -> str:
    """The text without greetings and thanks («добрый день», «спасибо», «здравствуйте», …)."""
    return _FORMULA_RE.sub(" ", text)


def lemma_doc(text: str) -> str:
    """One text as lemma text: formulas stripped, lemmas, stop words and 1-letter words dropped."""
    return " ".join(w for w in lemmas(strip_formulas(text)) if len(w) > 1 and w not in ALL_STOP_WORDS)


def lemma_docs(texts: Iterable[str]) -> list[str]:
    """Lemma text of each text (empty string when nothing topical is left)."""
    return [lemma_doc(t) for t in texts]
