"""How each source emotion dataset's labels map onto voc's CX emotion set (voc.vocab.EMOTIONS).

``MAPPING[dataset][source_label]`` is a CX emotion, or ``None`` when the source label means "no emotion"
(neutral). Source labels missing from a dataset's table have no CX equivalent (e.g. Izard's guilt/shame,
GoEmotions' curiosity): they are dropped from a row, and a row left with only such labels is dropped
(it has an emotion, just not one of ours, so it is neither a positive nor a "no emotion" example).

``ANNOTATED[dataset]`` lists the CX emotions a dataset can confirm or deny. A dataset that never marks
благодарность (cedr, semeval, Izard) does not count as a negative example for it.

Благодарность has no train-side source in the collection (ru_goemotions has it but only in evaluation
splits), so its training labels are *silver*: a train-side text is a positive when it contains a thanking
word (``GRATITUDE_PATTERN``) and a negative otherwise. ru_goemotions validation measures it honestly.
"""

from __future__ import annotations

import re

from voc.vocab import EMOTIONS

JOY, GRATITUDE, ANGER, SADNESS, FEAR, SURPRISE = EMOTIONS

MAPPING: dict[str, dict[str, str | None]] = {
    "cedr": {"joy": JOY, "sadness": SADNESS, "surprise": SURPRISE, "fear": FEAR, "anger": ANGER},
    "semeval2025_ru": {"joy": JOY, "sadness": SADNESS, "surprise": SURPRISE, "fear": FEAR,
                       "anger": ANGER, "disgust": ANGER},
    "ru_izard": {"neutral": None, "joy": JOY, "enthusiasm": JOY, "sadness": SADNESS, "anger": ANGER,
                 "disgust": ANGER, "surprise": SURPRISE, "fear": FEAR},
    "ru_goemotions": {"neutral": None, "joy": JOY, "amusement": JOY, "excitement": JOY, "relief": JOY,
                      "gratitude": GRATITUDE, "anger": ANGER, "annoyance": ANGER, "disgust": ANGER,
                      "sadness": SADNESS, "disappointment": SADNESS, "grief": SADNESS,
                      "fear": FEAR, "nervousness": FEAR, "surprise": SURPRISE},
}

_NO_GRATITUDE = tuple(e for e in EMOTIONS if e != GRATITUDE)
ANNOTATED: dict[str, tuple[str, ...]] = {
    "cedr": (JOY, SADNESS, SURPRISE, FEAR, ANGER),
    "semeval2025_ru": _NO_GRATITUDE,
    "ru_izard": _NO_GRATITUDE,
    "ru_goemotions": EMOTIONS,
}

GRATITUDE_PATTERN = re.compile(r"(?<!\w)(спасибо|спс|благодар\w*|признател\w*)", re.IGNORECASE)


def map_labels(dataset: str, source_labels: list[str]) -> list[str] | None:
    """CX emotions of one row (sorted, possibly empty = no emotion), or None when the row must be dropped."""
    table = MAPPING[dataset]
    if not source_labels:
        return []
    mapped = {table[lab] for lab in source_labels if lab in table}
    if not mapped:
        return None  # only labels without a CX equivalent
    return sorted(lab for lab in mapped if lab is not None)


def silver_gratitude(text: str) -> bool:
    """Silver label for благодарность: the text thanks someone."""
    return GRATITUDE_PATTERN.search(text) is not None
