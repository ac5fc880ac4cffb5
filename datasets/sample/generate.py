"""Deterministic generator of voc's bundled sample data (synthetic Russian customer feedback).

Writes feedback.csv, chats.jsonl, calls/*.json (+ calls/manifest.csv), tickets.csv and journey.yaml.
Standard library + pandas only, fixed seed, no network. Run:  python datasets/sample/generate.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fragments as fr  # noqa: E402

SEED = 20250330
END = datetime(2025, 3, 30, 21, 0)
START = END - timedelta(weeks=10)
SPIKE_START = END - timedelta(days=14)
SPIKE_LAST_WEEK = datetime(2025, 3, 24)  # Monday of the last complete week: most of the spike lands here
SPIKE_LAST_WEEK_SHARE = 0.75
SPIKE_TOPIC = "опоздание курьера"
N_BASE_FEEDBACK = 860
N_SPIKE_EXTRA = 135
N_CHATS = 30
N_CALLS = 24
CHANNEL_VALUES = {
    "review": ("отзыв", "отзыв", "review"),
    "survey": ("опрос", "опрос", "survey"),
    "email": ("email", "e-mail", "email"),
    "social": ("соцсети", "social", "соцсети"),
}
SENTIMENT_WEIGHTS = {"negative": 0.35, "neutral": 0.25, "positive": 0.40}
FEEDBACK_COLUMNS = ["номер", "дата", "канал", "текст", "оценка", "NPS", "CSAT", "CES", "клиент",
                    "номер обращения", "этап", "точка контакта", "продукт"]
TICKET_CHANNELS = ("телефон", "чат", "email", "приложение")


def _pick_sentiment(rng: random.Random) -> str:
    return rng.choices(list(SENTIMENT_WEIGHTS), weights=list(SENTIMENT_WEIGHTS.values()))[0]


def _fill(template: str, rng: random.Random, when: datetime) -> str:
    return template.format(
        hours=rng.choice((2, 3, 4, 5)), days=rng.choice((3, 5, 7, 10, 14)), minutes=rng.choice((15, 25, 40, 55)),
        amount=rng.choice((490, 1290, 2350, 4990, 7800, 15400)), order=f"{rng.randint(10_000_000, 99_999_999)}",
        day=rng.choice(("пятницы", "вторника", "обеда", "конца недели")), date_text=when.strftime("%d.%m"),
        name=rng.choice(fr.OPERATOR_NAMES),
    )


def _typos(text: str, rng: random.Random) -> str:
    """Colloquialisms, a swapped letter, lower case without final punctuation — as real people write."""
    if rng.random() < 0.3:
        for full, short in fr.COLLOQUIAL:
            if full in text and rng.random() < 0.6:
                text = text.replace(full, short, 1)
    if rng.random() < 0.15 and len(text) > 20:
        i = rng.randrange(1, len(text) - 2)
        if text[i].isalpha() and text[i + 1].isalpha():
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if rng.random() < 0.12:
        text = text.lower().rstrip(".!")
    return text


def _compose(topic: fr.Topic, sentiment: str, rng: random.Random, when: datetime) -> str:
    parts = [rng.choice(fr.OPENINGS[sentiment])]
    main = list(getattr(topic, sentiment))
    rng.shuffle(main)
    parts.append(main[0])
    if sentiment != "neutral" and rng.random() < 0.35:
        parts.append(main[1])
    if topic.details and rng.random() < 0.4:
        parts.append(rng.choice(topic.details))
    if rng.random() < 0.15:  # a second, unrelated aspect makes topic detection less trivial
        other = rng.choice([t for t in fr.TOPICS if set(t.products) & set(topic.products) and t is not topic])
        parts.append(rng.choice(other.positive if sentiment == "negative" else other.neutral))
    parts.append(rng.choice(fr.EMOTIONS[sentiment]))
    parts.append(rng.choice(fr.CLOSINGS[sentiment]))
    return _typos(" ".join(_fill(p, rng, when) for p in parts if p), rng)


def _luhn_complete(body: str) -> str:
    """Append the Luhn check digit to ``body``."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _pii_sentence(rng: random.Random, k: int, sentiment: str) -> str:
    """A synthetic PII sentence (fake numbers, example.com-like addresses, operator first names)."""
    phone = f"+7 (900) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
    card = _luhn_complete("220000" + "".join(str(rng.randint(0, 9)) for _ in range(9)))
    card = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    options = (
        f"Перезвоните мне по номеру {phone}.",
        f"Мой телефон 8900{rng.randint(1_000_000, 9_999_999)}, жду звонка.",
        f"Ответ пришлите на почту client{rng.randint(100, 999)}@example.ru.",
        f"Деньги списали с карты {card}.",
        f"Оператор {rng.choice(fr.OPERATOR_NAMES)} обещала перезвонить и пропала.",
        f"Спасибо менеджеру {rng.choice(('Алексею', 'Ольге', 'Игорю'))} за помощь.",
        f"Меня зовут {rng.choice(('Татьяна Смирнова', 'Павел Кузнецов', 'Ирина Волкова'))}, напишите мне.",
    )
    if sentiment == "positive":  # no complaint about an operator inside a thank-you note
        options = options[:4] + options[5:]
    return options[k % len(options)]


def _customer(rng: random.Random) -> str:
    # a skewed draw: 40 regulars come back many times, most others once or twice
    return f"C-{rng.randint(1, 40) if rng.random() < 0.2 else rng.randint(41, 900):04d}"


def _date_text(when: datetime, rng: random.Random) -> str:
    return when.strftime("%d.%m.%Y %H:%M") if rng.random() < 0.3 else when.strftime("%Y-%m-%d %H:%M")


def _random_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A minute between ``start`` and ``end``, mostly in waking hours (8:00–23:00)."""
    while True:
        day = start.date() + timedelta(days=rng.randrange((end.date() - start.date()).days + 1))
        hour = rng.choices(range(24), weights=[1] * 8 + [6] * 15 + [2])[0]
        when = datetime(day.year, day.month, day.day, hour, rng.randrange(60))
        if start <= when < end:
            return when


def build_feedback(rng: random.Random) -> tuple[pd.DataFrame, list[dict]]:
    """Feedback rows plus the ticket stubs (ticket id, customer, time, category, sentiment) behind them."""
    topics = {t.key: t for t in fr.TOPICS}
    rows: list[dict] = []
    plans = [(_random_time(rng, START, END), rng.choice(fr.TOPICS), _pick_sentiment(rng))
             for _ in range(N_BASE_FEEDBACK)]
    # the spike grows over the last two weeks, most of it in the last one (so week-over-week trends flag it)
    plans += [(_random_time(rng, SPIKE_LAST_WEEK if rng.random() < SPIKE_LAST_WEEK_SHARE else SPIKE_START, END),
               topics[SPIKE_TOPIC], rng.choices(("negative", "neutral"), weights=(0.85, 0.15))[0])
              for _ in range(N_SPIKE_EXTRA)]
    plans.sort(key=lambda p: p[0])
    pii_rows = set(rng.sample(range(len(plans)), 21))
    stubs: list[dict] = []
    ticket_no = 100_000
    for i, (when, topic, sentiment) in enumerate(plans):
        channel = rng.choices(list(CHANNEL_VALUES), weights=(0.4, 0.3, 0.15, 0.15))[0]
        text = _compose(topic, sentiment, rng, when)
        if i in pii_rows:
            text = f"{text} {_pii_sentence(rng, len(stubs) + i, sentiment)}"
        score_hi = {"negative": 0, "neutral": 1, "positive": 2}[sentiment]
        row = {c: "" for c in FEEDBACK_COLUMNS}
        row.update({"дата": _date_text(when, rng), "канал": rng.choice(CHANNEL_VALUES[channel]), "текст": text,
                    "клиент": _customer(rng), "продукт": rng.choice(topic.products)})
        if channel == "review":
            row["оценка"] = str(rng.choice(((1, 1, 2), (3, 3, 2, 4), (5, 5, 4))[score_hi]))
        if channel == "survey":
            row["NPS"] = str(rng.choice((range(0, 7), range(6, 9), range(8, 11))[score_hi]))
            if rng.random() < 0.75:
                row["CSAT"] = str(rng.choice(((1, 2), (3, 4), (4, 5))[score_hi]))
            if rng.random() < 0.5:
                row["CES"] = str(rng.choice(((5, 6, 7), (3, 4, 5), (1, 2, 3))[score_hi]))
        if rng.random() < 0.4:
            row["этап"] = topic.stage
        if rng.random() < 0.5:
            row["точка контакта"] = rng.choice(topic.touchpoints)
        has_ticket = rng.random() < (0.62 if sentiment == "negative" else 0.42)
        hidden_ticket = not has_ticket and sentiment == "negative" and rng.random() < 0.25
        if has_ticket or hidden_ticket:
            ticket_no += rng.randint(1, 9)
            tid = f"T-{ticket_no}"
            if has_ticket:
                row["номер обращения"] = tid
            stubs.append({"ticket_id": tid, "customer_id": row["клиент"],
                          "created_at": when - timedelta(minutes=rng.randint(30, 3 * 24 * 60 - 60)),
                          "category": topic.category, "sentiment": sentiment})
        rows.append(row)
    _insert_bad_rows(rows, rng)
    for n, row in enumerate(rows, start=1):
        row["номер"] = f"FB-{n:05d}"
    return pd.DataFrame(rows, columns=FEEDBACK_COLUMNS), stubs


def _insert_bad_rows(rows: list[dict], rng: random.Random) -> None:
    """Exactly five broken rows: two empty texts, two unparseable dates, one unknown channel."""
    bad = [("текст", ""), ("текст", "   "), ("дата", "31.02.2025 10:00"), ("дата", "вчера вечером"), ("канал", "факс")]
    for field, value in bad:
        src = rows[rng.randrange(len(rows))]
        row = dict(src, **{"номер обращения": "", field: value})
        rows.insert(rng.randrange(len(rows)), row)


def build_tickets(rng: random.Random, stubs: list[dict]) -> pd.DataFrame:
    """Ticket export: the stubs behind feedback/chats/calls, repeat contacts and unrelated tickets."""
    extra: list[dict] = []
    for stub in rng.sample(stubs, len(stubs) // 6):  # repeat contacts on the same problem
        for k in range(rng.randint(1, 3)):
            extra.append(dict(stub, ticket_id=f"{stub['ticket_id']}-{k + 2}",
                              created_at=stub["created_at"] + timedelta(days=rng.randint(1, 6) * (k + 1))))
    for n in range(120):
        extra.append({"ticket_id": f"T-9{n:05d}", "customer_id": _customer(rng),
                      "created_at": _random_time(rng, START, END), "category": rng.choice(fr.TOPICS).category,
                      "sentiment": _pick_sentiment(rng)})
    rows = []
    for s in sorted(stubs + extra, key=lambda s: (s["created_at"], s["ticket_id"])):
        negative = s["sentiment"] == "negative"
        hours = rng.choice((1, 3, 6, 20, 30, 52, 75, 130)) * (2 if negative else 1)
        closed = s["created_at"] + timedelta(hours=hours, minutes=rng.randint(0, 59))
        sla = hours > 48
        rows.append({
            "номер обращения": s["ticket_id"], "клиент": s["customer_id"],
            "создано": s["created_at"].strftime("%Y-%m-%d %H:%M"),
            "закрыто": closed.strftime("%Y-%m-%d %H:%M") if closed < END and rng.random() > 0.05 else "",
            "категория": s["category"], "канал": rng.choice(TICKET_CHANNELS), "просрочка SLA": "да" if sla else "нет",
            "переоткрытий": str(rng.choices((0, 1, 2, 3), weights=(8, 3 if negative else 1, 1, 0.3))[0]),
            "CSAT": str(rng.choice(((1, 2, 3), (3, 4, 5), (4, 5, 5))[("negative", "neutral", "positive").index(
                s["sentiment"])])) if rng.random() < 0.6 else "",
        })
    return pd.DataFrame(rows)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S+03:00")


def build_chats(rng: random.Random, stubs: list[dict]) -> list[dict]:
    """Support chats: bot greeting, client problem, operator answers, resolved or not."""
    chats = []
    for n in range(N_CHATS):
        topic = rng.choice(fr.TOPICS)
        start = _random_time(rng, START, END - timedelta(hours=2))
        customer = _customer(rng)
        tid = f"T-8{n:05d}"
        stubs.append({"ticket_id": tid, "customer_id": customer, "created_at": start, "category": topic.category,
                      "sentiment": "negative"})
        name = rng.choice(fr.OPERATOR_NAMES)
        resolved = rng.random() < 0.6
        msgs = [("bot", rng.choice(fr.CHAT_BOT_GREETINGS)),
                ("client", _typos(_fill(rng.choice(topic.negative), rng, start), rng))]
        if rng.random() < 0.5:
            msgs.append(("client", _fill(rng.choice(fr.CLIENT_FOLLOWUPS), rng, start)))
        msgs.append(("bot", _fill(rng.choice(fr.CHAT_BOT_HANDOFF), rng, start)))
        msgs.append(("operator", _fill(rng.choice(fr.OPERATOR_GREETINGS), rng, start).replace("{name}", name)))
        for _ in range(rng.randint(0, 3)):
            msgs.append(("client", _fill(rng.choice(fr.CLIENT_FOLLOWUPS), rng, start)))
            msgs.append(("operator", rng.choice(fr.OPERATOR_CHECKS)))
        if resolved:
            fix = rng.choice(fr.FIXES[topic.category])
            msgs.append(("operator", rng.choice(fr.OPERATOR_RESOLVED).format(fix=fix)))
            msgs.append(("client", rng.choice(fr.CLIENT_THANKS)))
        else:
            msgs.append(("operator", rng.choice(fr.OPERATOR_UNRESOLVED)))
            msgs.append(("client", rng.choice(fr.CLIENT_ANGRY)))
        msgs = msgs[:12]
        t = start
        messages = []
        for author, text in msgs:
            t += timedelta(seconds=rng.randint(5, 40) if author == "bot" else rng.randint(30, 420))
            messages.append({"author": author, "text": text, "time": _iso(t)})
        chats.append({"chat_id": f"CH-{n + 1:04d}", "created_at": _iso(start), "customer_id": customer,
                      "ticket_id": tid if rng.random() < 0.8 else None, "messages": messages})
    return chats


def _words_json(text: str, start: float, rng: random.Random) -> tuple[list[dict], float]:
    words, t = [], start
    for w in text.split():
        dur = 0.12 + 0.055 * len(w) + rng.random() * 0.08
        words.append({"startTime": f"{t:.3f}s", "endTime": f"{t + dur:.3f}s", "word": w,
                      "confidence": round(rng.uniform(0.82, 0.99), 2)})
        t += dur + rng.uniform(0.02, 0.12)
    return words, t


def _call_script(topic: fr.Topic, improving: bool, rng: random.Random, name: str) -> list[tuple[str, str]]:
    """(channel, text) utterances: '1' = client, '2' = operator; client mood improves or worsens."""
    clean = lambda s: s.lower().replace(",", "").replace(".", "").replace("!", "").replace("?", "")  # noqa: E731
    when = START
    script = [("2", clean(rng.choice(fr.CALL_OPERATOR_OPENINGS).format(name=name))), ("1", rng.choice(fr.CALL_CLIENT_FILLERS))]
    if improving:
        script += [("1", clean(_fill(rng.choice(topic.negative), rng, when))),
                   ("1", clean(rng.choice(fr.EMOTIONS["negative"][:8]))),
                   ("2", "понимаю ваше недовольство давайте разберёмся"),
                   ("2", rng.choice(fr.CALL_HOLDS)), ("HOLD", ""),
                   ("2", clean(rng.choice(fr.OPERATOR_RESOLVED).format(fix=rng.choice(fr.FIXES[topic.category])))),
                   ("1", "а вот это хорошо"), ("1", clean(rng.choice(fr.CLIENT_THANKS))),
                   ("2", "всего доброго хорошего дня")]
    else:
        script += [("1", clean(_fill(rng.choice(topic.neutral), rng, when)) + " хотел уточнить"),
                   ("2", "подскажите номер заказа или договора"), ("1", f"{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"),
                   ("2", rng.choice(fr.CALL_HOLDS)), ("HOLD", ""),
                   ("2", clean(rng.choice(fr.OPERATOR_UNRESOLVED))),
                   ("1", clean(rng.choice(fr.CLIENT_ANGRY))), ("2", "извините за неудобства"),
                   ("1", clean(rng.choice(fr.CLIENT_ANGRY))), ("1", "это просто безобразие")]
    return script


def build_call(rng: random.Random, topic: fr.Topic, improving: bool) -> dict:
    """One call transcript in the Yandex SpeechKit v2 recognition JSON shape."""
    name = rng.choice(fr.OPERATOR_NAMES)
    chunks, t, prev_channel, prev_end = [], rng.uniform(0.3, 1.2), None, 0.0
    hold = 0.0
    for channel, text in _call_script(topic, improving, rng, name):
        if channel == "HOLD":  # «минуточку, уточню»: a long hold (music) or a short pause
            hold = rng.uniform(25.0, 95.0) if rng.random() < 0.7 else rng.uniform(4.0, 9.0)
            continue
        if hold:
            t, hold = prev_end + hold, 0.0
        elif prev_channel is not None and channel != prev_channel and rng.random() < 0.18:
            t = max(prev_end - rng.uniform(0.3, 1.2), 0.0)  # interruption: starts before the other side ends
        elif prev_channel is not None:
            t = prev_end + rng.uniform(0.2, 2.5) if channel != prev_channel else prev_end + rng.uniform(0.1, 0.6)
        words, end = _words_json(text, t, rng)
        chunks.append({"alternatives": [{"text": text, "confidence": round(rng.uniform(0.85, 0.97), 2),
                                         "words": words}], "channelTag": channel, "_start": t})
        prev_channel, prev_end = channel, end
        t = end
    chunks.sort(key=lambda c: c.pop("_start"))
    return {"chunks": chunks}


def build_calls(rng: random.Random, stubs: list[dict]) -> tuple[dict[str, dict], pd.DataFrame]:
    calls, manifest = {}, []
    for n in range(N_CALLS):
        topic = rng.choice(fr.TOPICS)
        improving = n % 3 != 2
        created = _random_time(rng, START, END)
        customer, tid = _customer(rng), f"T-7{n:05d}"
        stubs.append({"ticket_id": tid, "customer_id": customer, "created_at": created, "category": topic.category,
                      "sentiment": "neutral" if improving else "negative"})
        fname = f"call_{n + 1:03d}.json"
        calls[fname] = build_call(rng, topic, improving)
        manifest.append({"file": fname, "call_id": f"CALL-{n + 1:04d}", "customer_id": customer, "ticket_id": tid,
                         "created_at": created.strftime("%Y-%m-%dT%H:%M:%S"),
                         "journey_stage": topic.stage if rng.random() < 0.6 else ""})
    return calls, pd.DataFrame(manifest)


JOURNEY_STAGES = (
    ("поиск информации", "клиент выбирает товар, тариф или услугу и ищет условия",
     ["сайт", "магазин", "колл-центр", "отделение"], ["Консультация"],
     ["наличие", "описание", "характеристики", "условия", "тариф", "узнать", "консультант"]),
    ("покупка/оформление", "оформление заказа, договора или подключения",
     ["сайт", "мобильное приложение", "корзина"], ["Оформление заказа"],
     ["оформить", "корзина", "промокод", "заказ", "приложение", "сайт", "регистрация"]),
    ("оплата", "оплата заказа или услуги, списания и чеки",
     ["касса", "платёжная страница", "мобильное приложение"], ["Оплата"],
     ["оплата", "списать", "платёж", "комиссия", "чек", "карта", "холд"]),
    ("доставка", "доставка курьером или в пункт выдачи, отслеживание",
     ["курьер", "пункт выдачи", "трекинг"], ["Доставка"],
     ["курьер", "доставка", "привезти", "опоздать", "пункт выдачи", "трек-номер"]),
    ("обслуживание/поддержка", "обращения в поддержку, работа сервиса и связи",
     ["колл-центр", "чат поддержки", "отделение", "сеть"], ["Техническая проблема"],
     ["оператор", "поддержка", "дозвониться", "перезвонить", "связь", "интернет", "мастер"]),
    ("возврат", "возврат товара и денег, брак",
     ["пункт выдачи", "сайт", "колл-центр"], ["Возврат товара"],
     ["возврат", "вернуть", "брак", "обмен", "деньги не пришли"]),
    ("повторная покупка/лояльность", "бонусы, кэшбэк и повторные покупки",
     ["мобильное приложение", "касса", "рассылка"], ["Бонусы и лояльность"],
     ["бонус", "кэшбэк", "программа лояльности", "скидка", "снова заказать"]),
)


def journey_yaml() -> str:
    """The journey config example (written by hand, no YAML library needed)."""
    lines = ["# Customer journey stages for voc: touchpoints, ticket categories and keywords per stage.", "stages:"]
    for name, desc, touchpoints, categories, keywords in JOURNEY_STAGES:
        lines += [f"  - name: {name}", f"    description: {desc}",
                  f"    touchpoints: [{', '.join(touchpoints)}]", f"    ticket_categories: [{', '.join(categories)}]",
                  f"    keywords: [{', '.join(keywords)}]"]
    return "\n".join(lines) + "\n"


def generate(out: Path) -> list[Path]:
    """Write every sample file under ``out``; returns the paths written."""
    rng = random.Random(SEED)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calls").mkdir(exist_ok=True)
    feedback, stubs = build_feedback(rng)
    chats = build_chats(rng, stubs)
    calls, manifest = build_calls(rng, stubs)
    tickets = build_tickets(rng, stubs)
    written = [out / "feedback.csv", out / "tickets.csv", out / "chats.jsonl", out / "journey.yaml",
               out / "calls" / "manifest.csv"]
    feedback.to_csv(written[0], index=False, lineterminator="\n")
    tickets.to_csv(written[1], index=False, lineterminator="\n")
    written[2].write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chats), encoding="utf-8")
    written[3].write_text(journey_yaml(), encoding="utf-8")
    manifest.to_csv(written[4], index=False, lineterminator="\n")
    for fname, call in calls.items():
        path = out / "calls" / fname
        path.write_text(json.dumps(call, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    paths = generate(args.out)
    print(f"wrote {len(paths)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
