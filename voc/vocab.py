"""Domain vocabulary: default journey stages, complaint causes, CX emotions, sentiments.

Every list here is a default; companies override stages, causes and topics through YAML configs
(see voc/config.py). Values stay in Russian because they appear in configs and outputs as they are.
"""

from __future__ import annotations

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

JOURNEY_STAGES: tuple[str, ...] = (
    "поиск информации",
    "покупка/оформление",
    "оплата",
    "доставка",
    "обслуживание/поддержка",
    "возврат",
    "повторная покупка/лояльность",
)

COMPLAINT_CAUSES: tuple[str, ...] = (
    "ошибка процесса",
    "информационный разрыв",
    "человеческий фактор",
    "технический сбой",
    "качество продукта",
    "цена и условия",
    "другое",
)

# The CX emotion set (multi-label). "нет эмоции" is what a record gets when no other emotion fires.
EMOTIONS: tuple[str, ...] = (
    "радость/удовлетворение",
    "благодарность",
    "раздражение/гнев",
    "разочарование/грусть",
    "тревога/страх",
    "удивление",
)
NO_EMOTION = "нет эмоции"

# Emotions that count as "pain" in the priority score.
PAIN_EMOTIONS: tuple[str, ...] = ("раздражение/гнев", "разочарование/грусть", "тревога/страх")

CHANNELS: tuple[str, ...] = ("review", "survey", "chat", "call", "email", "social")
