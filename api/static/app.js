/* voc web page: upload a batch, follow it, fetch its outputs. Every data call sends the analyst's key;
   server text goes into the DOM through textContent only. No external URLs. */
"use strict";

const KEY_STORAGE = "voc.apiKey";
const POLL_MS = 1500;
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const STATE_RU = {queued: "в очереди", running: "выполняется", succeeded: "готово", failed: "ошибка",
                  cancelled: "отменён"};
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
          const loc = Array.isArray(e.loc) ? e.loc.join(".") : "";
          if (typeof e.msg === "string") lines.push((loc ? loc + ": " : "") + e.msg);
        }
      }
    } catch (_) { /* not JSON after all: the status line is enough */ }
  }
  return lines.join("\n");
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
  $("heatmaps").replaceChildren();
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
      td.textContent = field === "file" ? value.split(/[\\/]/).pop() : value;  // the name, not a server path
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  $("errors-block").hidden = rows.length === 0;
}

async function showResults(batchId) {
  $("results-section").hidden = false;
  const box = $("heatmaps");
  box.replaceChildren();
  for (const [kind, title] of HEATMAPS) {
    const block = document.createElement("div");
    block.className = "heatmap";
    const h = document.createElement("h3");
    h.textContent = title;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "secondary";
    open.textContent = "Интерактивная карта (в новой вкладке)";
    const htmlPath = `/v1/batches/${encodeURIComponent(batchId)}/heatmap?kind=${kind}&format=html`;
    open.addEventListener("click", () => openHtml(htmlPath, batchId).catch(
      (err) => showMessage($("job-message"), errorText(err), true)));
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "Загрузка изображения…";
    block.append(h, open, note);
    box.appendChild(block);
    try {
      const response = await api(`/v1/batches/${encodeURIComponent(batchId)}/heatmap?kind=${kind}&format=png`);
      const url = URL.createObjectURL(await response.blob());
      objectUrls.push(url);
      const img = document.createElement("img");
      img.src = url;
      img.alt = "Тепловая карта: " + title;
      note.replaceWith(img);
    } catch (err) {
      note.textContent = errorText(err);
    }
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
  document.querySelectorAll("[data-download]").forEach(
    (b) => b.addEventListener("click", () => downloadOutput(b.dataset.download)));
  if (getKey()) setStatus($("key-status"), "Ключ сохранён в этой вкладке.", "ok");
  refreshList();
});
