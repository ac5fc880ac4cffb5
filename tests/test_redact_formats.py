"""One test per PII kind and format: phones, e-mails, cards, passports, СНИЛС, ИНН, accounts, addresses, names,
short cell values, and text that must stay (brands, cities, orders, prices, dates, tariffs). Synthetic ids only."""

from __future__ import annotations

import pytest

from voc.redact import MASKS, Redactor

RED = Redactor(name_engine="morph")


def masked_kinds(text: str) -> tuple[str, dict[str, int]]:
    return RED.redact(text)


@pytest.mark.parametrize(
    "phone",
    [
        "+7 916 123-45-67", "+7 (916) 123-45-67", "+7-916-123-45-67", "+79161234567", "+7(916)1234567",
        "89161234567", "8 916 123 45 67", "8 (916) 123-45-67", "8-916-123-45-67", "8 916 12 34 567",
        "8-999-12-34-567", "8 (964) 55-66-777", "7 916 123 45 67", "79161234567", "9161234567",
        "916 123 45 67", "(916)123-45-67", "(916) 123 45 67", "916-123-45-67", "916.123.45.67",
        "+7.916.123.45.67", "8.916.123.45.67", "+7 916 1234567", "8 902 123-4567", "+7 (495) 123-45-67",
        "(812) 334-55-66", "8 (343) 222-33-44",
    ],
)
def test_phone_formats(phone: str) -> None:
    out, counts = masked_kinds(f"Перезвоните мне на {phone}, жду.")
    assert out == "Перезвоните мне на [ТЕЛЕФОН], жду." and counts == {"phone": 1}


@pytest.mark.parametrize("text", ["тел. 234-56-78", "звоните на 123 45 67", "домашний телефон 555-12-34"])
def test_city_phone_needs_context(text: str) -> None:
    assert masked_kinds(text)[1] == {"phone": 1}
    assert masked_kinds(text.split()[-1])[1] == {}  # a bare 7-digit number is no phone


@pytest.mark.parametrize(
    "text",
    ["горячая линия 8 800 555-35-35", "Заказ 9161234567 не пришёл", "трек 79161234567", "позвонила на 900",
     "с 12.03.2024 по 15.03.2024", "сумма 150 000 000 рублей", "версия 192.168.10.15"],
)
def test_not_phones(text: str) -> None:
    assert masked_kinds(text)[1].get("phone", 0) == 0, text


@pytest.mark.parametrize(
    "email",
    ["ivan.petrov@gmail.com", "иван.петров@почта.рф", "натальяпетрова@яндекс.рф", "user+tag@inbox.ru",
     "ivan (собака) gmail.com", "ivan at gmail dot com", "ivan[at]mail.ru", "ivan собака mail.ru",
     "oleg{at}yandex{dot}ru", "shop.seller (собака) mail (точка) ru", "max.p at yandex.ru",
     "dmitriy.kozlov[собака]gmail.com", "anna_belova at mail dot ru", "kuznetsov.d (at) yandex.ru"],
)
def test_email_formats(email: str) -> None:
    out, counts = masked_kinds(f"Моя почта {email}, напишите.")
    assert out == "Моя почта [EMAIL], напишите." and counts == {"email": 1}


@pytest.mark.parametrize("text", ["собака @ мейл точка ру", "посмотрите at the shop", "собака лает", "точка выдачи"])
def test_not_emails(text: str) -> None:
    assert masked_kinds(text)[1] == {}


@pytest.mark.parametrize(
    "card", ["4276 7294 3648 3757", "4276-7294-3648-3757", "4276729436483757", "2200 1156 2810 6043 155",
             "4472576795204"],
)
def test_card_formats(card: str) -> None:
    assert masked_kinds(f"С карты {card} списали деньги")[0] == "С карты [КАРТА] списали деньги"


@pytest.mark.parametrize(
    "passport",
    ["45 15 654321", "4515 654321", "45-18-909090", "45 20 № 246810", "серия 45 15 номер 654321",
     "серия 4515 № 654321", "серии 4006 номер 112299", "серия 4511, номер 778899"],
)
def test_passport_formats(passport: str) -> None:
    out, counts = masked_kinds(f"Паспорт {passport} выдан давно.")
    assert counts == {"passport": 1} and "654321" not in out and "[ПАСПОРТ]" in out


def test_passport_bare_needs_context() -> None:
    assert masked_kinds("мой паспорт 4010987654")[0] == "мой паспорт [ПАСПОРТ]"
    assert masked_kinds("Паспорт: серия 4511, а номер 778899")[1] == {"passport": 2}


@pytest.mark.parametrize("snils", ["822-122-512 44", "576-846-348-58", "135 598 098 00", "СНИЛС 55424057881"])
def test_snils_formats(snils: str) -> None:
    assert masked_kinds(f"Мой {snils}.")[1] == {"snils": 1}


@pytest.mark.parametrize("text", ["ИНН 967581784509", "инн: 4878465079", "мой ИНН — 232573514251", "188432775902"])
def test_inn_formats(text: str) -> None:
    assert masked_kinds(text)[1] == {"inn": 1}


@pytest.mark.parametrize(
    "account", ["40817810013056546200", "4081 7810 6725 6970 8962", "40817 810 5 2496 1730739",
                "40817.810.6.1062.9950677", "40817-810-0-5221-5807867"],
)
def test_account_formats(account: str) -> None:
    assert masked_kinds(f"счёт {account} закрыт")[0] == "счёт [СЧЁТ] закрыт"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Живу: ул. Ленина, д. 5, кв. 12.", "ул. Ленина, д. 5, кв. 12"),
        ("Живу на проспект Мира 10-25, курьер не нашёл", "проспект Мира 10-25"),
        ("Доставка: г. Москва, Тверская 7, курьер опоздал", "Тверская 7"),
        ("по адресу улица Садовая, дом 14, квартира 3", "улица Садовая, дом 14, квартира 3"),
        ("адрес ул Гагарина 15 кв 8", "ул Гагарина 15 кв 8"),
        ("адрес ул ленина 5 кв 12", "ул ленина 5 кв 12"),
        ("Адрес: Кутузовский пр-т, 24-56.", "Кутузовский пр-т, 24-56"),
        ("живу по адресу садовая улица д 3 кв 5", "садовая улица д 3 кв 5"),
        ("мой адрес б-р Строителей, 7, корп. 2, кв. 91", "б-р Строителей, 7, корп. 2, кв. 91"),
        ("привезите на ул. 8 Марта, 12-3", "ул. 8 Марта, 12-3"),
        ("проживаю ул. 1-я Парковая, д. 7, кв. 15", "ул. 1-я Парковая, д. 7, кв. 15"),
        ("адрес проезд Серебрякова, 14к3, кв. 110", "проезд Серебрякова, 14к3, кв. 110"),
        ("курьер приехал на Рязанский пр., 8а, кв. 19", "Рязанский пр., 8а, кв. 19"),
        ("мой адрес дом 5, квартира 12", "дом 5, квартира 12"),
        ("на наб. Обводного канала, д. 60, кв. 12", "наб. Обводного канала, д. 60, кв. 12"),
        ("Москва, Тверская 7-15", "Тверская 7-15"),
    ],
)
def test_address_formats(text: str, address: str) -> None:
    out, counts = masked_kinds(text)
    assert out == text.replace(address, "[АДРЕС]") and counts == {"address": 1}


@pytest.mark.parametrize(
    "text",
    ["В отделении на ул. Ленина, 5 очередь", "Магазин на Тверской закрыт", "на улице Ленина 3 дня не убирают",
     "улица Садовая перекрыта", "ТЦ Мега, 2 этаж", "Банк располагается по ул. Московская, д. 3"],
)
def test_not_personal_addresses(text: str) -> None:
    assert masked_kinds(text)[1].get("address", 0) == 0, text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Менеджер Иванов И.И. нахамил.", "Иванов И.И."),
        ("Жалоба на И. И. Иванова.", "И. И. Иванова"),
        ("Заявление принял Д.А. Козлов.", "Д.А. Козлов"),
        ("С уважением, Фёдоров А. В.", "Фёдоров А. В."),
        ("звонила мария петрова из банка", "мария петрова"),
        ("вчера звонил сергей иванов", "сергей иванов"),
        ("со мной общался андрей, спасибо", "андрей"),
        ("бабушка тамара получила заказ", "тамара"),
        ("Спасибо Анне Сергеевне за помощь", "Анне Сергеевне"),
        ("ФИО: Сидоров Пётр Алексеевич.", "Сидоров Пётр Алексеевич"),
        ("Продавец Алишер отказал", "Алишер"),
        ("Операционист Кузнецова отказала", "Кузнецова"),
        ("Спасибо сотруднице Лилии!", "Лилии"),
        ("Спасибо за отзыв, Татьяна!", "Татьяна"),
        ("Спасибо за отличный отзыв， Гулмира! Мы рады", "Гулмира"),
        ("Обращайтесь к нам снова, Рашидбек!", "Рашидбек"),
        ("По поводу заявки звонил Роман, обещал перезвонить", "Роман"),
    ],
)
def test_name_formats(text: str, name: str) -> None:
    out, counts = masked_kinds(text)
    assert out == text.replace(name, "[ИМЯ]") and counts == {"name": 1}


@pytest.mark.parametrize(
    "text",
    ["Шоколадка Алёнка растаяла", "Ипотеку лучше брать в Альфе", "Отделение на ул. Достоевского закрыто",
     "Отделение банка на Ленина закрыто", "Я в ипотечном центре на Гагарина 29", "Вышла из метро Маяковская",
     "Пять сотрудников ТП не помогли", "Специалист Совкомбанка отказал", "звонили аж три раза",
     "оплатил в он-лайн магазине", "Спасибо, Сбер!", "Здравствуйте, Мегамаркет, где заказ?"],
)
def test_not_names(text: str) -> None:
    assert masked_kinds(text)[1].get("name", 0) == 0, text


def test_names_joined_by_and() -> None:
    assert masked_kinds("Передайте благодарность Ане и Саше из отделения") == (
        "Передайте благодарность [ИМЯ] и [ИМЯ] из отделения", {"name": 2}
    )
    assert masked_kinds("Оператор Диана и Тиькофф банк")[0] == "Оператор [ИМЯ] и Тиькофф банк"


@pytest.mark.parametrize(
    ("value", "kind"),
    [("+7 916 123-45-67", "phone"), ("9161234567", "phone"), ("ivan[at]mail.ru", "email"),
     ("Иванов Иван Иванович", "name"), ("иванова мария", "name"), ("Алексей", "name"), ("Петров П.П.", "name"),
     ("4276 7294 3648 3757", "card"), ("4515 654321", "passport"), ("123-456-789 64", "snils"),
     ("188432775902", "inn"), ("40817810052215807867", "account"), ("ул. Садовая 3-5", "address")],
)
def test_redact_value(value: str, kind: str) -> None:
    assert RED.redact_value(value) == (MASKS[kind], {kind: 1})


@pytest.mark.parametrize(
    "value", ["Москва", "Тариф Мой онлайн+", "2024-03-12", "1500", "Сбербанк", "женский", "18-25", "премиум",
              "iPhone 15", "заказ 123456", "Тинькофф", ""],
)
def test_redact_value_keeps(value: str) -> None:
    assert RED.redact_value(value) == (value, {})


def test_redact_value_types() -> None:
    assert RED.redact_value(89161234567) == ("[ТЕЛЕФОН]", {"phone": 1})
    assert RED.redact_value(89161234567.0) == ("[ТЕЛЕФОН]", {"phone": 1})
    assert RED.redact_value(4.5) == ("4.5", {}) and RED.redact_value(float("nan")) == ("nan", {})
    assert RED.redact_values(["Алексей", 5]) == [("[ИМЯ]", {"name": 1}), ("5", {})]
    with pytest.raises(TypeError, match="value"):
        RED.redact_value(None)  # type: ignore[arg-type]


def test_find_batch_offsets() -> None:
    text = "Оператор Марина, тел. +7 916 123-45-67, ул. Ленина, д. 5, кв. 12"
    spans = RED.find_batch([text])[0]
    assert [(text[s.start : s.end], s.kind) for s in spans] == [
        ("Марина", "name"), ("+7 916 123-45-67", "phone"), ("ул. Ленина, д. 5, кв. 12", "address")
    ]


def test_second_pass_offsets() -> None:
    """«…67+7 916…»: the second phone is found only once the first is masked; offsets stay original."""
    text = "Марина: +7 916 123-45-67+7 916 765-43-21 и 89031112233"
    spans = RED.find_batch([text])[0]
    assert [text[s.start : s.end] for s in spans] == ["Марина", "+7 916 123-45-67", "+7 916 765-43-21", "89031112233"]
    assert RED.redact(text) == ("[ИМЯ]: [ТЕЛЕФОН][ТЕЛЕФОН] и [ТЕЛЕФОН]", {"name": 1, "phone": 3})
