"""The analysts' page in a real browser (headless Chromium via Selenium) against a live service with a batch
worker: key entry, upload of the bundled sample, progress that moves, heatmaps, rejected rows under the
uploaded file name, a bad file's errors — under the page's Content-Security-Policy. A screenshot of each step
lands in tests/artifacts/browser/ (git-ignored). Skips when selenium or the system Chromium is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("selenium")

from helpers.browser import chrome, csp_errors, find_browser, live_server, screenshot, wait_until  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_browser() is None, reason="no system chromium + chromedriver")]

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "feedback.csv"
STASH: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("browser") / "data") as s:
        yield s


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    d = chrome(downloads)
    d.set_page_load_timeout(30)
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    d.downloads = downloads
    yield d
    d.quit()


def _by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def _text(driver, element_id: str) -> str:
    return _by_id(driver, element_id).text


def _visible(driver, element_id: str) -> bool:
    return _by_id(driver, element_id).is_displayed()


def _enter_key(driver, key: str) -> str:
    driver.execute_script("document.getElementById('key-status').textContent = ''")
    field = _by_id(driver, "api-key")
    field.clear()
    field.send_keys(key)
    _by_id(driver, "key-form").submit()
    return wait_until(lambda: _text(driver, "key-status"), 10, what="the key status")


def test_key_upload_progress_heatmaps_rejected_rows_and_a_bad_file(server, driver, tmp_path) -> None:
    driver.get(server.url + "/")
    assert "voc" in driver.title

    # 1. key entry: a wrong key is refused in Russian, the right one accepted and kept in this tab only
    assert "не принят" in _enter_key(driver, "voc_nope_secret")
    STASH["key"] = server.key("analyst")
    assert _enter_key(driver, STASH["key"]) == "Ключ принят."
    assert driver.execute_script("return sessionStorage.getItem('voc.apiKey')").startswith("voc_")
    screenshot(driver, "01-key")

    # 2. upload the bundled sample
    _by_id(driver, "file").send_keys(str(SAMPLE))
    _by_id(driver, "upload-button").click()
    wait_until(lambda: _visible(driver, "job-section") and _text(driver, "job-id"), 30, what="the batch section")
    assert "Пакет создан" in _text(driver, "upload-message")
    driver.execute_script("window.scrollTo(0, 0)")
    STASH["batch"] = _text(driver, "job-id")
    screenshot(driver, "02-upload")

    # 3. progress moves (the default 5,000-row chunks are cut for a small file): values strictly between 0 and
    #    100 are shown before «готово», with the phase in words
    seen: list[float] = []
    shot = False
    while _text(driver, "job-state") not in ("готово", "ошибка", "отменён"):
        value = float(re.sub(r"[^\d.]", "", _text(driver, "job-percent")) or 0)
        if not seen or seen[-1] != value:
            seen.append(value)
        if 0 < value < 100 and not shot and _text(driver, "job-phase"):
            screenshot(driver, "03-progress")
            shot = True
        wait_until(lambda: True, 0.1)
        assert len(seen) < 10_000
    assert _text(driver, "job-state") == "готово", _text(driver, "job-error")
    assert any(0 < v < 100 for v in seen), f"progress never moved between 0 and 100: {seen}"
    assert seen == sorted(seen), f"progress went backwards: {seen}"

    # 4. heatmaps are visible images
    wait_until(lambda: _visible(driver, "results-section"), 30, what="the results")
    loaded = ("return [...document.querySelectorAll('#heatmaps img')]"
              ".filter(i => i.complete && i.naturalWidth > 100).length")
    assert wait_until(lambda: driver.execute_script(loaded) >= 3, 60, what="three heatmap images") is True
    screenshot(driver, "04-heatmap")

    # 5. rejected rows: the sample's 5 bad rows, under the uploaded file name (never a server path)
    assert _text(driver, "rows-rejected") == "5"
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#errors-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    assert len(rows) == 5 and {r[0] for r in rows} == {"feedback.csv"}, rows
    assert {r[3] for r in rows} == {"пустой текст", "неизвестный канал", "не удалось разобрать дату"}, rows
    assert all(r[1] and r[3] for r in rows)
    screenshot(driver, "05-rejected-rows")

    # 6. a bad file: every row rejected → the upload answers 422 and the page lists the rows and fields
    bad = tmp_path / "пустые.csv"
    bad.write_text("id,text\n1,\n2,   \n", encoding="utf-8")
    _by_id(driver, "file").send_keys(str(bad))
    _by_id(driver, "upload-button").click()
    message = wait_until(lambda: "Ошибка во входных данных" in _text(driver, "upload-message")
                         and _text(driver, "upload-message"), 30, what="the upload error")
    assert "файл с отзывами, строка 1, поле «текст»: пустой текст" in message and "Traceback" not in message
    assert _by_id(driver, "upload-message").get_attribute("class") == "message error"
    screenshot(driver, "06-bad-file")
    assert csp_errors(driver) == []


def _css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _drill_count(driver) -> int:
    text = wait_until(lambda: (t := _text(driver, "drill") and _css(driver, "#drill .drill-count")[0].text)
                      and "Загрузка" not in t and t, 30, what="the drill-down count")
    found = re.search(r"Найдено отзывов: (\d+)", text)
    return int(found.group(1)) if found else 0


def _click(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
    element.click()


def test_every_number_opens_its_feedback(server, driver) -> None:
    if "batch" not in STASH:
        pytest.skip("needs the batch of the first browser test")
    # a heatmap cell: exactly its n rows, evidence marked, every label shown
    cells = _css(driver, "#heat-stage_emotion td[data-drill]")
    assert cells and not _css(driver, "#heat-stage_emotion td.nodata[data-drill]")
    cell = max(cells, key=lambda c: int(re.search(r"n=(\d+)", c.text).group(1)))
    n = int(re.search(r"n=(\d+)", cell.text).group(1))
    _click(driver, cell)
    assert _drill_count(driver) == n
    assert _css(driver, "#drill tbody tr") and _css(driver, "#drill mark")
    labels = _css(driver, "#drill tbody tr")[0].text
    assert "тональность" in labels and "этап" in labels
    screenshot(driver, "07-drill-heatmap-cell", full=False)

    # a filter narrows it; the CSV export holds the same rows
    from selenium.webdriver.support.ui import Select

    channel = Select(_css(driver, "#drill select[name=channel]")[0])
    channel.select_by_value("review")
    narrowed = _drill_count(driver)
    assert 0 < narrowed < n
    before = set(driver.downloads.iterdir())
    _click(driver, [b for b in _css(driver, "#drill button") if b.text == "Скачать CSV"][0])
    new = wait_until(lambda: [p for p in set(driver.downloads.iterdir()) - before if p.suffix == ".csv"], 30,
                     what="the CSV download")
    import pandas as pd

    exported = pd.read_csv(new[0])
    assert len(exported) == narrowed and set(exported["channel"]) == {"review"}

    # a priority item and a trend
    _click(driver, _css(driver, "#p-topic-1")[0])
    topic = _css(driver, "#p-topic-1 b")[0].text
    assert _drill_count(driver) == int(_css(driver, "#p-topic-1 td")[2].text)
    assert f"тема: {topic}" in _css(driver, "#drill .drill-caption")[0].text
    screenshot(driver, "08-drill-priority", full=False)
    _click(driver, _css(driver, "#trends tbody tr")[0])
    assert _drill_count(driver) == int(_css(driver, "#trends tbody tr td")[3].text)
    assert "неделя: " in _css(driver, "#drill .drill-caption")[0].text
    # a wrong label is corrected from the drill-down: stored with who, the model's label and its version
    row = _css(driver, "#drill tbody tr")[0]
    feedback_id = row.get_attribute("data-id")
    _click(driver, [b for b in row.find_elements("css selector", "button") if b.text == "Исправить метку"][0])
    Select(row.find_element("css selector", "select[name=task]")).select_by_value("sentiment")
    value = row.find_element("css selector", "input[name=value]")
    value.clear()
    value.send_keys("positive")
    row.find_element("css selector", "input[name=note]").send_keys("сарказм")
    _click(driver, [b for b in row.find_elements("css selector", "button") if b.text == "Сохранить"][0])
    status = wait_until(lambda: "Исправлено" in (t := row.find_element("css selector", ".correct-status").text) and t,
                        15, what="the saved correction")
    assert "→ позитив" in status and "модель sentiment-" in status
    screenshot(driver, "08c-correction", full=False)
    saved = driver.execute_async_script(
        "const [id, key, done] = arguments; fetch(`/v1/batches/${id}/corrections`, {headers: {Authorization: "
        "'Bearer ' + key}}).then(r => r.json()).then(done);", STASH["batch"], STASH["key"])
    assert [(c["feedback_id"], c["task"], c["new_value"], c["note"]) for c in saved] == [
        (feedback_id, "sentiment", "positive", "сарказм")]

    # driver analysis: NPS per topic with intervals (the sample's surveys carry NPS); a row opens its feedback
    drivers = _css(driver, "#drivers-nps tbody tr")
    assert drivers and "…" in drivers[0].text
    _click(driver, drivers[0])
    assert _drill_count(driver) > 0
    screenshot(driver, "08b-drivers", full=False)
    _click(driver, [b for b in _css(driver, "#drill button") if "Закрыть" in b.text][0])
    assert not _visible(driver, "drill")
    assert csp_errors(driver) == []


def test_report_drill_down_in_a_page_tab_and_under_the_api_policy(server, driver) -> None:
    if "batch" not in STASH:
        pytest.skip("needs the batch of the first browser test")
    page = driver.current_window_handle
    _click(driver, _by_id(driver, "open-report"))
    wait_until(lambda: len(driver.window_handles) > 1, 15, what="the report tab")
    driver.switch_to.window([h for h in driver.window_handles if h != page][0])
    try:
        wait_until(lambda: driver.current_url.startswith("blob:") and _css(driver, "#table-stage_emotion"), 30,
                   what="the report in its tab")
        cell = _css(driver, "#table-stage_emotion td[data-drill]")[0]
        n = int(re.search(r"n=(\d+)", cell.text).group(1))
        _click(driver, cell)
        assert _drill_count(driver) == n and _css(driver, "#drill mark")
        screenshot(driver, "09-report-drill", full=False)
        assert csp_errors(driver) == []
    finally:
        driver.close()
        driver.switch_to.window(page)

    # the report straight from the API: nonce'd scripts only, sandboxed; the drill-down still works
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Bearer " + STASH["key"]}})
    try:
        driver.get(f"{server.url}/v1/batches/{STASH['batch']}/report")
        _click(driver, _css(driver, "#priority-topic-1")[0])
        assert _drill_count(driver) > 0 and _css(driver, "#drill tbody tr")
        screenshot(driver, "10-report-api-csp", full=False)
        assert csp_errors(driver) == []
    finally:
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        driver.get(server.url + "/")
