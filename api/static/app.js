/* voc web page: upload a batch, follow it, fetch its outputs. Every data call sends the analyst's key;
   server text goes into the DOM through textContent only. No external URLs. */
"use strict";

const KEY_STORAGE = "voc.apiKey";
const POLL_MS = 1500;
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const STATE_RU = {queued: "в очереди", running: "выполняется", succeeded: "готово", failed: "ошибка",
                  cancelled: "отменён"};
const PHASE_RU = {queued: "ждёт свободного обработчика", starting: "запуск: загрузка моделей",
                  analysing: "анализ строк", summarising: "строим тепловые карты и отчёт", done: "",
                  failed: "", cancelled: ""};
const HEATMAPS = [["stage_emotion", "Этап пути × эмоция"], ["stage_channel", "Этап пути × канал"],
                  ["topic_week", "Тема × неделя"]];
const STATUS_RU = {
  400: "Неверный запрос.",
  401: "Ключ API не принят: он не указан, неизвестен или отозван.",
  403: "У этого ключа нет прав на это действие (нужна роль «аналитик» или «администратор»).",
  404: "Не найдено.",
  409: "Результаты ещё не готовы: пакет не завершён.",
  413: "Файл слишком большой для сервиса.",
  415: "Неподдерживаемый тип файла.",
  422: "Ошибка во входных данных.",
  429: "Слишком много запросов, попробуйте позже.",
  503: "Сервис ещё запускается, попробуйте через минуту.",
};

const $ = (id) => document.getElementById(id);
let currentJob = null;   // id of the batch on screen
let pollTimer = null;
let objectUrls = [];     // blob URLs of inline images, revoked when another batch is shown

/* ---------- key ---------- */
function getKey() { return sessionStorage.getItem(KEY_STORAGE) || ""; }

function setStatus(el, text, kind) {
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

/* ---------- HTTP ---------- */
class ApiError extends Error {
  constructor(message) { super(message); this.name = "ApiError"; }
}

/** A readable Russian message from a failed response; uses problem+json fields, never a raw body. */
async function problemMessage(response) {
  const lines = [STATUS_RU[response.status] || `Ошибка сервера (код ${response.status}).`];
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string" && response.status < 500) lines.push(body.detail);
      if (body && Array.isArray(body.errors)) {
        for (const e of body.errors.slice(0, 5)) {
          if (typeof e.msg === "string") lines.push(errorLine(Array.isArray(e.loc) ? e.loc : [], e.msg));
        }
      }
    } catch (_) { /* not JSON after all: the status line is enough */ }
  }
  return lines.join("\n");
}

const UPLOAD_FIELDS_RU = {file: "файл с отзывами", tickets: "выгрузка обращений", journey: "этапы пути",
                         taxonomy: "таксономия", text_col: "колонка с текстом", causes: "причины жалоб",
                         columns: "сопоставление колонок", channel: "канал", preset: "пресет", profile: "модели",
                         redact_names: "маскирование имён", link_window_days: "окно связи",
                         repeat_window_days: "окно повторного обращения"};

/** One field error in Russian: ["body", "file", 3, "text"] + "empty text" → «файл с отзывами, строка 3, поле «текст»: пустой текст». */
function errorLine(loc, msg) {
  const parts = [];
  const rest = loc[0] === "body" || loc[0] === "query" || loc[0] === "path" ? loc.slice(1) : loc;
  if (rest.length) parts.push(UPLOAD_FIELDS_RU[rest[0]] || String(rest[0]));
  if (rest.length > 1 && typeof rest[1] === "number") parts.push(`строка ${rest[1]}`);
  if (rest.length > 2) parts.push(`поле «${ru("fields", rest[2])}»`);
  else if (rest.length > 1 && typeof rest[1] !== "number") parts.push(`поле «${ru("fields", rest[1])}»`);
  return (parts.length ? parts.join(", ") + ": " : "") + ru("reasons", msg);
}

/** fetch() with the Authorization header; throws ApiError with a readable message when not 2xx. */
async function api(path, options = {}) {
  const key = getKey();
  if (!key) throw new ApiError("Сначала введите ключ API (раздел 1).");
  const headers = Object.assign({}, options.headers || {}, {"Authorization": "Bearer " + key});
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, {headers, cache: "no-store"}));
  } catch (_) {
    throw new ApiError("Нет связи с сервисом. Проверьте сеть и попробуйте снова.");
  }
  if (!response.ok) throw new ApiError(await problemMessage(response));
  return response;
}

function showMessage(el, text, isError) {
  el.textContent = text;
  el.className = "message" + (isError ? " error" : "");
  el.hidden = !text;
}

function errorText(err) {
  return err instanceof ApiError ? err.message : "Непредвиденная ошибка на странице. Обновите её и повторите.";
}

/* ---------- blobs: downloads and new tabs ---------- */
function filenameFrom(response, fallback) {
  const cd = response.headers.get("content-disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) { try { return decodeURIComponent(star[1]); } catch (_) { /* fall through */ } }
  const plain = /filename="?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : fallback;
}

async function download(path, fallbackName) {
  const response = await api(path);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filenameFrom(response, fallbackName);
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** The blob: document of an output inherits this page's Content-Security-Policy, which allows no inline
    script: each inline <script> (plotly's set-up and data) becomes a blob: script of the same text. */
function externalScripts(html, urls) {
  return html.replace(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi, (tag, attrs, body) => {
    if (/\bsrc\s*=/i.test(attrs) || !body.trim()) return tag;
    const type = /\btype\s*=\s*["']?([^"'\s>]+)/i.exec(attrs);
    if (type && !/javascript|ecmascript|^module$/i.test(type[1])) return tag;  // a data block (JSON): never run
    const url = URL.createObjectURL(new Blob([body], {type: "text/javascript"}));
    urls.push(url);
    return `<script${attrs} src="${url}"></script>`;
  });
}

/** Open an HTML output in a new tab. The tab is opened at once (popup blockers), filled when the data comes.
    A <base> pointing at the batch lets the page load its own relative files (e.g. plotly.min.js). */
async function openHtml(path, batchId) {
  const tab = window.open("", "_blank");
  if (tab) { tab.opener = null; tab.document.title = "Загрузка…"; }
  try {
    const response = await api(path);
    const urls = [];
    let html = externalScripts(await response.text(), urls);
    const base = `<base href="${location.origin}/v1/batches/${encodeURIComponent(batchId)}/">`;
    html = /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => m + base) : base + html;
    const url = URL.createObjectURL(new Blob([html], {type: "text/html;charset=utf-8"}));
    urls.push(url);
    if (tab) tab.location.href = url; else window.location.assign(url);
    setTimeout(() => urls.forEach((u) => URL.revokeObjectURL(u)), 120000);
  } catch (err) {
    if (tab) tab.close();
    throw err;
  }
}

/* ---------- upload ---------- */
async function upload(event) {
  event.preventDefault();
  const message = $("upload-message");
  const file = $("file").files[0];
  if (!file) { showMessage(message, "Выберите файл с отзывами.", true); return; }
  const form = new FormData();
  form.append("file", file, file.name);
  const textCol = $("text-col").value.trim();
  if (textCol) form.append("text_col", textCol);
  // PII columns kept raw by explicit choice (else dropped): names separated by ";" (a name may hold a comma)
  for (const name of $("keep-pii-columns").value.split(";").map(n => n.trim()).filter(Boolean)) {
    form.append("keep_pii_columns", name);
  }
  const tickets = $("tickets").files[0];
  if (tickets) form.append("tickets", tickets, tickets.name);
  const journey = $("journey").files[0];
  if (journey) form.append("journey", journey, journey.name);
  const taxonomy = $("taxonomy").files[0];
  if (taxonomy) form.append("taxonomy", taxonomy, taxonomy.name);
  const causes = $("causes").files[0];
  if (causes) form.append("causes", causes, causes.name);
  const columns = $("columns").files[0];
  if (columns) form.append("columns", columns, columns.name);
  // the other run options (voc.runspec.RunSpec): sent only when filled in
  const option = id => $(id).value.trim();
  if (option("channel")) form.append("channel", option("channel"));
  if (option("preset")) form.append("preset", option("preset"));
  if (option("profile")) form.append("profile", option("profile"));
  if (option("redact-names")) form.append("redact_names", option("redact-names"));
  if (option("link-window-days")) form.append("link_window_days", option("link-window-days"));
  if (option("repeat-window-days")) form.append("repeat_window_days", option("repeat-window-days"));

  $("upload-button").disabled = true;
  showMessage(message, "Загрузка файла…", false);
  try {
    const response = await api("/v1/batches", {method: "POST", body: form});
    const created = await response.json();
    showMessage(message, `Пакет создан: ${created.id}. Анализ запущен.`, false);
    follow(created.id);
    refreshList();
  } catch (err) {
    showMessage(message, errorText(err), true);
  } finally {
    $("upload-button").disabled = false;
  }
}

/* ---------- one batch ---------- */
function follow(batchId) {
  currentJob = batchId;
  if (pollTimer) clearTimeout(pollTimer);
  objectUrls.forEach((u) => URL.revokeObjectURL(u));
  objectUrls = [];
  $("job-section").hidden = false;
  $("results-section").hidden = true;
  for (const id of ["overview", "heatmaps", "priority", "trends", "scores"]) $(id).replaceChildren();
  $("drill").hidden = true;
  drillPanel = null;
  $("job-id").textContent = batchId;
  showMessage($("job-message"), "", false);
  poll();
}

async function poll() {
  const batchId = currentJob;
  if (!batchId) return;
  try {
    const response = await api(`/v1/batches/${encodeURIComponent(batchId)}`);
    const job = await response.json();
    if (batchId !== currentJob) return;
    renderJob(job);
    if (TERMINAL.has(job.state)) {
      refreshList();
      if (job.state === "succeeded") showResults(job.id);
      return;
    }
  } catch (err) {
    if (batchId !== currentJob) return;
    showMessage($("job-message"), errorText(err), true);
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

function renderJob(job) {
  const state = $("job-state");
  state.textContent = STATE_RU[job.state] || String(job.state);
  state.className = "state-" + job.state;
  $("job-input").textContent = job.input_name ? `(${job.input_name})` : "";
  const progress = Number(job.progress) || 0;
  $("job-progress").value = progress;
  $("job-percent").textContent = `${progress.toFixed(progress % 1 ? 1 : 0)} %`;
  $("job-phase").textContent = PHASE_RU[job.phase] || "";
  $("rows-in").textContent = String(job.rows_in ?? 0);
  $("rows-out").textContent = String(job.rows_out ?? 0);
  $("rows-rejected").textContent = String(job.rows_rejected ?? 0);
  $("rows-total").textContent = job.rows_total == null ? "—" : String(job.rows_total);
  $("cancel-job").hidden = TERMINAL.has(job.state);
  const jobError = $("job-error");
  jobError.hidden = !job.error;
  jobError.textContent = job.error ? "Пакет завершился с ошибкой: " + job.error : "";
  renderErrors(Array.isArray(job.first_errors) ? job.first_errors : []);
}

function renderErrors(rows) {
  const body = $("errors-table").tBodies[0];
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const field of ["file", "row", "field", "reason"]) {
      const td = document.createElement("td");
      const value = r[field] == null ? "" : String(r[field]);
      td.textContent = field === "file" ? value.split(/[\\/]/).pop()  // the name, not a server path
        : field === "reason" ? ru("reasons", value) : field === "field" ? ru("fields", value) : value;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  $("errors-block").hidden = rows.length === 0;
}

/* ---------- results: overview, heatmaps, priority, trends, scores; every number opens its feedback ---------- */
let RU = {};          // the Russian labels (GET /ui/static/ru.json)
let drillPanel = null; // VocDrill.Panel of the batch on screen

async function loadRussian() {
  try {
    const response = await fetch("/ui/static/ru.json", {cache: "no-store"});
    if (response.ok) RU = await response.json();
  } catch (_) { /* labels stay as the service wrote them */ }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function ru(table, value) {
  const t = RU[table];
  return t && value != null && Object.prototype.hasOwnProperty.call(t, value) ? t[value] : String(value ?? "");
}

function fmt(value, digits) { return value == null ? "—" : Number(value).toFixed(digits).replace("-", "−"); }
function pct(value, digits) { return value == null ? "—" : (100 * value).toFixed(digits) + " %"; }

/** An element that opens the drill-down with these filters (click, Enter or Space). */
function drillable(node, filters, title) {
  node.dataset.drill = JSON.stringify(filters);
  node.dataset.drillTitle = title || "";
  node.tabIndex = 0;
  node.setAttribute("role", "button");
  return node;
}

function resultsQuery(filters) {
  const q = new URLSearchParams();
  for (const key of VocDrill.FILTER_KEYS) if (filters[key]) q.set(key, filters[key]);
  if (Array.isArray(filters.ids) && filters.ids.length) q.set("ids", filters.ids.join(","));
  return q;
}

/** Rows come from GET /v1/batches/{id}/results?view=compact&sort=negative&…filters; CSV from format=csv. */
function apiSource(batchId, options) {
  const base = `/v1/batches/${encodeURIComponent(batchId)}/results`;
  return {
    options,
    async load(filters, page, size) {
      const q = resultsQuery(filters);
      q.set("view", "compact");
      q.set("sort", filters.sort === "positive" ? "positive" : "negative");
      q.set("page", String(page));
      q.set("page_size", String(size));
      const response = await api(`${base}?${q}`);
      return response.json();
    },
    exportCsv(filters) {
      const q = resultsQuery(filters);
      q.set("format", "csv");
      return download(`${base}?${q}`, `${batchId}-filtered.csv`);
    },
    /** An analyst's fix of one label: POST /v1/batches/{id}/corrections (stored with key, time, model version). */
    async correct(row, task, value, note) {
      const response = await api(`/v1/batches/${encodeURIComponent(batchId)}/corrections`, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({feedback_id: row.id, task, value, note}),
      });
      return response.json();
    },
  };
}

function legendBox(legend) {
  const box = el("div", "legend");
  box.appendChild(el("div", "legend-title", legend.title));
  for (const bar of legend.bars || []) {
    const item = el("span", "bar");
    const grad = el("span", "grad");
    grad.style.background = `linear-gradient(to right, ${bar.stops.join(", ")})`;
    item.append(document.createTextNode(bar.low + " "), grad, document.createTextNode(` ${bar.high} — ${bar.label}`));
    box.appendChild(item);
  }
  if (legend.no_data) {
    const item = el("span", "bar");
    const swatch = el("span", "swatch");
    swatch.style.background = legend.no_data.colour;
    item.append(swatch, document.createTextNode(" " + legend.no_data.label));
    box.appendChild(item);
  }
  return box;
}

const HEAT_KEYS = {stage_emotion: {row: "stage", col: "emotion"}, stage_channel: {row: "stage", col: "channel"},
                   topic_week: {row: "topic", col: "week"}};
const POSITIVE_EMOTIONS = new Set(["радость/удовлетворение", "благодарность"]);

function heatTable(kind, h, view) {
  const table = el("table", "heat");
  table.id = "heat-" + kind;
  const colTitle = (c) => kind === "stage_channel" ? ru("channels", c) : c;
  const head = table.createTHead().insertRow();
  head.appendChild(el("th"));
  h.col_labels.forEach((c) => head.appendChild(el("th", null, colTitle(c))));
  const body = table.createTBody();
  h.row_labels.forEach((row, i) => {
    const tr = body.insertRow();
    tr.appendChild(el("th", null, row));
    h.col_labels.forEach((col, j) => {
      const value = h.values[i][j];
      const td = el("td");
      td.style.background = view.bg[i][j];
      td.style.color = view.fg[i][j];
      if (value == null) {
        td.className = "nodata";
        td.textContent = "нет данных";
        td.title = `${row} × ${colTitle(col)}: нет данных`;
      } else {
        td.append(document.createTextNode(fmt(value, 2)), el("small", null, `n=${h.counts[i][j]}`));
        td.title = `${row} × ${colTitle(col)}\n${h.value_name}: ${fmt(value, 3)}\nn = ${h.counts[i][j]} из ${h.totals[i][j]}`;
        const keys = HEAT_KEYS[kind];
        const filters = {[keys.row]: row, [keys.col]: col};
        if (kind === "stage_emotion" && POSITIVE_EMOTIONS.has(col)) filters.sort = "positive";
        drillable(td, filters, `${row} × ${colTitle(col)}`);
      }
      tr.appendChild(td);
    });
  });
  return table;
}

async function heatmapBlock(batchId, kind, title, h, view) {
  const block = el("div", "heatmap");
  block.id = "heatmap-" + kind;
  block.appendChild(el("h3", null, title));
  if (h.description) block.appendChild(el("p", "muted", h.description));
  if (!h.row_labels.length || !h.col_labels.length) {
    block.appendChild(el("p", "muted", "Нет данных."));
    return block;
  }
  block.appendChild(legendBox(view.legend));
  const wrap = el("div", "heat-wrap");
  wrap.appendChild(heatTable(kind, h, view));
  block.appendChild(wrap);
  const more = el("details");
  more.appendChild(el("summary", null, "Картинка (PNG) и интерактивная карта"));
  const open = el("button", "secondary", "Интерактивная карта (в новой вкладке)");
  open.type = "button";
  const htmlPath = `/v1/batches/${encodeURIComponent(batchId)}/heatmap?kind=${kind}&format=html`;
  open.addEventListener("click", () => openHtml(htmlPath, batchId).catch(
    (err) => showMessage($("job-message"), errorText(err), true)));
  more.appendChild(open);
  block.appendChild(more);
  try {
    const response = await api(`/v1/batches/${encodeURIComponent(batchId)}/heatmap?kind=${kind}&format=png`);
    const url = URL.createObjectURL(await response.blob());
    objectUrls.push(url);
    const img = el("img");
    img.src = url;
    img.alt = "Тепловая карта: " + title;
    more.appendChild(img);
  } catch (err) {
    more.appendChild(el("p", "muted", errorText(err)));
  }
  return block;
}

function quoteList(item) {
  const cell = el("td");
  for (const q of item.examples || []) {
    const b = el("blockquote");
    b.append(el("b", null, q.id + ": "), document.createTextNode(q.text));
    cell.appendChild(b);
  }
  return cell;
}

function priorityBlock(items, kind, title) {
  const block = el("div");
  block.appendChild(el("h3", null, title));
  if (!items.length) { block.appendChild(el("p", "muted", "Нет данных.")); return block; }
  const table = el("table", "data priority");
  const head = table.createTHead().insertRow();
  for (const t of ["#", "название", "n", "часто", "больно", "влияет", "оценка", "примеры"]) head.appendChild(el("th", null, t));
  const body = table.createTBody();
  for (const it of items.slice(0, 15)) {
    const tr = drillable(body.insertRow(), {[kind]: it.name}, it.name);
    tr.id = `p-${kind}-${it.rank}`;
    const name = el("td");
    name.appendChild(el("b", null, it.name));
    for (const f of it.flags || []) name.appendChild(el("div", "muted small", ru("flags", f)));
    if (it.effect) name.appendChild(el("div", "effect", it.effect));
    tr.append(el("td", "num", it.rank), name, el("td", "num", it.n), el("td", "num", pct(it.frequency, 1)),
              el("td", "num", fmt(it.pain, 2)), el("td", "num", fmt(it.impact, 2)), el("td", "num", fmt(it.score, 2)),
              quoteList(it));
  }
  block.appendChild(table);
  return block;
}

function trendsBlock(trends) {
  const block = el("div");
  block.appendChild(el("h3", null, "Тренды"));
  if (!trends.week_last) { block.appendChild(el("p", "muted", "Недостаточно данных по неделям.")); return block; }
  block.appendChild(el("p", "muted", `Последняя полная неделя ${trends.week_last} против ${trends.week_prev}. ` +
    "«Растёт» — доля выросла ≥ 25 %, z-тест двух долей p < 0,05 и ≥ 5 упоминаний."));
  const table = el("table", "data trends");
  const head = table.createTHead().insertRow();
  for (const t of ["вид", "название", "было", "стало", "доля было", "доля стало", "p", ""]) head.appendChild(el("th", null, t));
  const body = table.createTBody();
  trends.rows.slice(0, 30).forEach((t, k) => {
    const tr = drillable(body.insertRow(), {[t.kind]: t.name, week: t.week_last}, `${t.name}, ${t.week_last}`);
    tr.id = `trend-${k + 1}`;
    tr.append(el("td", null, ru("kinds", t.kind)), el("td", null, t.name), el("td", "num", t.count_prev),
              el("td", "num", t.count_last), el("td", "num", pct(t.share_prev, 1)), el("td", "num", pct(t.share_last, 1)),
              el("td", "num", fmt(t.p_value, 4)), el("td", t.emerging ? "flag" : "", t.emerging ? "растёт" : ""));
  });
  block.appendChild(table);
  return block;
}

const DIMENSIONS = {journey_stage: {key: "stage", title: "по этапам пути клиента"},
                    channel: {key: "channel", title: "по каналам"}, topic: {key: "topic", title: "по темам"}};

function scoresBlock(scores) {
  const block = el("div");
  block.appendChild(el("h3", null, "NPS, CSAT, CES"));
  if (!scores.length) { block.appendChild(el("p", "muted", "В данных нет оценок NPS, CSAT или CES.")); return block; }
  block.appendChild(el("p", "muted", "NPS: % промоутеров (9–10) − % детракторов (0–6), выше — лучше. CSAT: доля 4–5 из 5, " +
    "выше — лучше. CES: усилие клиента от 1 (очень легко) до 7 (очень трудно), ниже — лучше."));
  for (const table of scores) {
    const {key, title} = DIMENSIONS[table.dimension] || {key: null, title: table.dimension};
    block.appendChild(el("h4", null, title));
    const t = el("table", "data scores");
    const head = t.createTHead().insertRow();
    for (const h of ["группа", "n", "NPS", "n NPS", "CSAT 4–5, %", "n CSAT", "CES (ниже — лучше)", "n CES"]) head.appendChild(el("th", null, h));
    const body = t.createTBody();
    table.rows.slice(0, 30).forEach((r, k) => {
      const group = key === "channel" && k ? ru("channels", r.group) : r.group;
      const tr = drillable(body.insertRow(), k === 0 || !key ? {} : {[key]: r.group}, group);
      tr.append(el("td", null, group), el("td", "num", r.n), el("td", "num", fmt(r.nps, 1)), el("td", "num", r.n_nps),
                el("td", "num", fmt(r.csat_share, 1)), el("td", "num", r.n_csat), el("td", "num", fmt(r.ces_mean, 2)),
                el("td", "num", r.n_ces));
    });
    block.appendChild(t);
  }
  return block;
}

function driversBlock(tables) {
  const block = el("div");
  block.appendChild(el("h3", null, "Что влияет на NPS, CSAT и CES"));
  if (!tables || !tables.length) {
    block.appendChild(el("p", "muted", "Нужно не меньше 30 отзывов с оценкой и тем с 10 и более такими отзывами."));
    return block;
  }
  block.appendChild(el("p", "muted", "МНК-регрессия оценки на темы и причины: на сколько баллов меняется оценка, когда " +
    "в отзыве есть тема, при прочих равных, с 95 % доверительным интервалом. «Вредит» — интервал не содержит 0 " +
    "(для CES вредно повышение); такой эффект входит в «влияет на бизнес»."));
  for (const table of tables) {
    block.appendChild(el("h4", null, `${table.target.toUpperCase()}: ${table.n} отзывов с оценкой` +
                                     (table.r2 != null ? `, R² = ${fmt(table.r2, 2)}` : "")));
    const t = el("table", "data drivers");
    t.id = "drivers-" + table.target;
    const head = t.createTHead().insertRow();
    for (const h of ["вид", "название", "n", "эффект, баллы", "95 % ДИ", "p", ""]) head.appendChild(el("th", null, h));
    const body = t.createTBody();
    for (const d of table.drivers.slice(0, 20)) {
      const tr = drillable(body.insertRow(), {[d.kind]: d.name}, d.name);
      const verdict = d.measured ? (d.harm > 0 ? "вредит" : "помогает") : "не измерено";
      tr.append(el("td", null, ru("kinds", d.kind)), el("td", null, d.name), el("td", "num", d.n),
                el("td", "num", fmt(d.coef, 2)), el("td", "num", `${fmt(d.ci_low, 2)} … ${fmt(d.ci_high, 2)}`),
                el("td", "num", fmt(d.p_value, 4)), el("td", d.measured && d.harm > 0 ? "flag" : "muted", verdict));
    }
    block.appendChild(t);
  }
  return block;
}

/** «Главное»: five biggest problems, rising trends, overall scores — each linked to its section. */
function overviewBlock(doc) {
  const agg = doc.aggregates;
  const block = el("div", "overview");
  block.appendChild(el("h3", null, "Главное"));
  const link = (href, text) => { const a = el("a", null, text); a.href = href; return a; };
  if (agg.priority_topics.length) {
    block.appendChild(el("p", null, "Пять самых важных проблем (часто × больно × влияет на бизнес):"));
    const ol = el("ol");
    for (const it of agg.priority_topics.slice(0, 5)) {
      const li = el("li");
      li.append(link(`#p-topic-${it.rank}`, it.name),
                document.createTextNode(` — оценка ${fmt(it.score, 2)}, ${it.n} отзывов, негатив ${pct(it.negative_share, 0)}` +
                                        (it.effect ? `; ${it.effect}` : "")));
      ol.appendChild(li);
    }
    block.appendChild(ol);
  }
  const rising = agg.trends.rows.map((t, k) => [t, k + 1]).filter(([t]) => t.emerging);
  const p = el("p");
  if (rising.length) {
    p.appendChild(el("b", null, "Растут: "));
    rising.forEach(([t, k], i) => {
      if (i) p.appendChild(document.createTextNode(", "));
      p.append(link(`#trend-${k}`, t.name), document.createTextNode(` (${ru("kinds", t.kind)}, ${pct(t.share_prev, 1)} → ${pct(t.share_last, 1)})`));
    });
  } else {
    p.textContent = agg.trends.week_last ? "Растущих проблем нет." : "Недостаточно данных по неделям для трендов.";
  }
  block.appendChild(p);
  const all = agg.scores.length && agg.scores[0].rows.length ? agg.scores[0].rows[0] : null;
  if (all) {
    const parts = [];
    if (all.n_nps) parts.push(`NPS ${fmt(all.nps, 1)} (n=${all.n_nps})`);
    if (all.n_csat) parts.push(`CSAT ${fmt(all.csat_share, 1)} % довольных (n=${all.n_csat})`);
    if (all.n_ces) parts.push(`CES ${fmt(all.ces_mean, 2)} из 7 — чем ниже, тем легче клиенту (n=${all.n_ces})`);
    const s = el("p");
    s.append(link("#scores", "Оценки"), document.createTextNode(": " + parts.join(" · ")));
    block.appendChild(s);
  }
  return block;
}

async function showResults(batchId) {
  $("results-section").hidden = false;
  for (const id of ["overview", "heatmaps", "priority", "trends", "scores"]) $(id).replaceChildren();
  let doc;
  try {
    doc = await (await api(`/v1/batches/${encodeURIComponent(batchId)}/summary`)).json();
  } catch (err) {
    showMessage($("job-message"), errorText(err), true);
    return;
  }
  if (batchId !== currentJob) return;
  const view = doc.view || {heatmaps: {}, drill_options: {}};
  drillPanel = new VocDrill.Panel($("drill"), apiSource(batchId, view.drill_options || {}), RU);
  $("overview").appendChild(overviewBlock(doc));
  const agg = doc.aggregates;
  $("priority").append(el("h3", null, "Главные проблемы: часто × больно × влияет на бизнес"),
                       priorityBlock(agg.priority_topics, "topic", "Темы"),
                       priorityBlock(agg.priority_causes, "cause", "Причины жалоб"));
  $("trends").appendChild(trendsBlock(agg.trends));
  $("scores").append(scoresBlock(agg.scores), driversBlock(agg.drivers));
  for (const [kind, title] of HEATMAPS) {
    const h = agg.heatmaps[kind];
    if (!h || !view.heatmaps[kind]) continue;
    $("heatmaps").appendChild(await heatmapBlock(batchId, kind, title, h, view.heatmaps[kind]));
  }
}

async function cancelJob() {
  if (!currentJob) return;
  try {
    await api(`/v1/batches/${encodeURIComponent(currentJob)}`, {method: "DELETE"});
    showMessage($("job-message"), "Отмена запрошена.", false);
  } catch (err) {
    showMessage($("job-message"), errorText(err), true);
  }
}

function downloadOutput(what) {
  if (!currentJob) return;
  const base = `/v1/batches/${encodeURIComponent(currentJob)}`;
  const targets = {
    "results-csv": [base + "/results?format=csv", currentJob + "-enriched.csv"],
    "results-parquet": [base + "/results?format=parquet", currentJob + "-enriched.parquet"],
    "errors-csv": [base + "/errors?format=csv", currentJob + "-errors.csv"],
  };
  const [path, name] = targets[what];
  download(path, name).catch((err) => showMessage($("job-message"), errorText(err), true));
}

/* ---------- the key's batches ---------- */
async function refreshList() {
  const body = $("batches-table").tBodies[0];
  const note = $("list-message");
  if (!getKey()) { body.replaceChildren(); note.textContent = "Введите ключ, чтобы увидеть свои пакеты."; return; }
  try {
    const response = await api("/v1/batches?limit=20");
    const jobs = await response.json();
    body.replaceChildren();
    for (const job of jobs) {
      const tr = document.createElement("tr");
      const idCell = document.createElement("td");
      const link = document.createElement("button");
      link.type = "button";
      link.className = "link";
      link.textContent = job.id;
      link.title = "Показать этот пакет";
      link.addEventListener("click", () => follow(job.id));
      idCell.appendChild(link);
      tr.appendChild(idCell);
      const cells = [job.input_name || "", (job.created_at || "").replace("T", " ").slice(0, 19),
                     STATE_RU[job.state] || String(job.state), `${Number(job.progress) || 0} %`,
                     job.rows_total == null ? "—" : String(job.rows_total)];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 2) td.className = "state-" + job.state;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    note.textContent = jobs.length ? "" : "Пакетов пока нет.";
  } catch (err) {
    body.replaceChildren();
    note.textContent = errorText(err);
  }
}

/* ---------- wiring ---------- */
async function saveKey(event) {
  event.preventDefault();
  const value = $("api-key").value.trim();
  const status = $("key-status");
  if (!value) { setStatus(status, "Введите ключ.", "error"); return; }
  sessionStorage.setItem(KEY_STORAGE, value);
  $("api-key").value = "";
  try {
    await api("/v1/batches?limit=1");
    setStatus(status, "Ключ принят.", "ok");
  } catch (err) {
    sessionStorage.removeItem(KEY_STORAGE);
    setStatus(status, errorText(err), "error");
  }
  refreshList();
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  currentJob = null;
  if (pollTimer) clearTimeout(pollTimer);
  $("job-section").hidden = true;
  $("results-section").hidden = true;
  setStatus($("key-status"), "Ключ удалён из этой вкладки.", "");
  refreshList();
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", saveKey);
  $("forget-key").addEventListener("click", forgetKey);
  $("upload-form").addEventListener("submit", upload);
  $("refresh-list").addEventListener("click", refreshList);
  $("cancel-job").addEventListener("click", cancelJob);
  $("download-errors").addEventListener("click", () => downloadOutput("errors-csv"));
  $("open-report").addEventListener("click", () => {
    if (currentJob) {
      openHtml(`/v1/batches/${encodeURIComponent(currentJob)}/report`, currentJob).catch(
        (err) => showMessage($("job-message"), errorText(err), true));
    }
  });
  $("open-all").addEventListener("click", () => { if (drillPanel) drillPanel.open({}, "все отзывы"); });
  VocDrill.bindClicks(document, {open: (filters, title) => drillPanel && drillPanel.open(filters, title)});
  document.querySelectorAll("[data-download]").forEach(
    (b) => b.addEventListener("click", () => downloadOutput(b.dataset.download)));
  if (getKey()) setStatus($("key-status"), "Ключ сохранён в этой вкладке.", "ok");
  loadRussian().finally(refreshList);
});
