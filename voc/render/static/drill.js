/* voc drill-down: the feedback behind a number — masked text with its evidence highlighted and every label,
   filterable by stage, channel, topic, cause, emotion, week, sentiment and segment, exportable as CSV.
   Shared by the web page (rows come from the API) and report.html (rows embedded as JSON). The DOM is built
   with textContent only: no server or feedback text is ever parsed as HTML. */
(function (global) {
"use strict";

const FILTER_KEYS = ["stage", "channel", "topic", "cause", "emotion", "week", "sentiment", "segment"];
const PAGE_SIZE = 25;
const CSV_COLUMNS = ["id", "date", "week", "channel", "stage", "stage_source", "sentiment", "score", "emotions",
                     "topics", "topic_sentiments", "cause", "cause_confidence", "segment", "nps", "csat", "ces",
                     "evidence", "text"];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function tr(ru, table, value) {
  if (value == null) return "";
  const t = ru && ru[table];
  return (t && Object.prototype.hasOwnProperty.call(t, value)) ? t[value] : String(value);
}

function num(value, digits) {
  return value == null || Number.isNaN(Number(value)) ? "—" : Number(value).toFixed(digits).replace("-", "−");
}

/** Merged [start, end) intervals of every (case-insensitive) occurrence of each evidence fragment. */
function evidenceSpans(text, evidence) {
  const low = text.toLowerCase();
  const found = [];
  for (const raw of evidence || []) {
    const needle = String(raw).trim().toLowerCase();
    if (needle.length < 2) continue;
    for (let i = low.indexOf(needle); i !== -1; i = low.indexOf(needle, i + needle.length)) {
      found.push([i, i + needle.length]);
    }
  }
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged = [];
  for (const [s, e] of found) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e); else merged.push([s, e]);
  }
  return merged;
}

/** The text as nodes, evidence fragments inside <mark>. */
function highlight(text, evidence) {
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const [s, e] of evidenceSpans(text, evidence)) {
    if (s > at) frag.appendChild(document.createTextNode(text.slice(at, s)));
    frag.appendChild(el("mark", null, text.slice(s, e)));
    at = e;
  }
  if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
  return frag;
}

/** Does a compact row match every given filter? (the same keys as the aggregates) */
function matches(row, filters) {
  for (const key of FILTER_KEYS) {
    const want = filters[key];
    if (want == null || want === "") continue;
    if (key === "topic" || key === "emotion") {
      if (!(row[key + "s"] || []).includes(want)) return false;
    } else if (row[key] !== want) {
      return false;
    }
  }
  if (Array.isArray(filters.ids) && filters.ids.length && !filters.ids.includes(row.id)) return false;
  return true;
}

function chip(text, className) { return el("span", "chip" + (className ? " " + className : ""), text); }

/** Every label of a row: sentiment with score, emotions, topics with their own sentiment, cause, stage. */
function labels(row, ru) {
  const box = el("div", "labels");
  const add = (title, ...nodes) => {
    const line = el("div", "label-line");
    line.appendChild(el("span", "label-name", title + ": "));
    nodes.forEach((n) => line.appendChild(n));
    box.appendChild(line);
  };
  if (row.sentiment) {
    add("тональность", chip(`${tr(ru, "sentiments", row.sentiment)} ${num(row.score, 2)}`, "s-" + row.sentiment));
  }
  if ((row.emotions || []).length) add("эмоции", ...row.emotions.map((e) => chip(e)));
  if ((row.topics || []).length) {
    add("темы", ...row.topics.map((t, i) => {
      const s = (row.topic_sentiments || [])[i];
      return chip(s ? `${t} (${tr(ru, "sentiments", s)})` : t, s ? "s-" + s : "");
    }));
  }
  if (row.cause) add("причина", chip(row.cause_confidence != null ? `${row.cause} (${num(row.cause_confidence, 2)})` : row.cause));
  if (row.stage) {
    add("этап", chip(row.stage_source ? `${row.stage} — ${tr(ru, "stage_sources", row.stage_source)}` : row.stage));
  }
  const scores = ["nps", "csat", "ces"].filter((k) => row[k] != null).map((k) => `${k.toUpperCase()} ${row[k]}`);
  if (scores.length) add("оценки", chip(scores.join(" · ")));
  if (row.segment) add("сегмент", chip(row.segment));
  return box;
}

const CORRECT_TASKS = [["sentiment", "тональность", "sentiment"], ["cause", "причина", "cause"],
                       ["journey_stage", "этап", "stage"], ["topics", "темы", "topics"],
                       ["emotions", "эмоции", "emotions"]];
const LIST_TASKS = new Set(["topics", "emotions"]);
let formCount = 0;

/** «Исправить метку»: pick the task, type or pick the right label, save through ``submit(row, task, value, note)``. */
function correctionForm(row, ru, options, submit) {
  const box = el("div", "correct");
  const open = el("button", "secondary", "Исправить метку");
  open.type = "button";
  const status = el("div", "muted correct-status");
  status.setAttribute("role", "status");
  box.append(open, status);
  open.addEventListener("click", () => {
    open.hidden = true;
    const form = el("form", "correct-form");
    const task = el("select");
    task.name = "task";
    for (const [value, title] of CORRECT_TASKS) task.appendChild(new Option(title, value));
    const input = el("input");
    input.type = "text";
    input.name = "value";
    input.maxLength = 400;
    const list = el("datalist");
    list.id = "voc-correct-values-" + (++formCount);
    input.setAttribute("list", list.id);
    const current = (t) => {
      const v = row[t === "journey_stage" ? "stage" : t];
      return Array.isArray(v) ? v.join(" | ") : (v || "");
    };
    const fill = () => {
      const spec = CORRECT_TASKS.find((c) => c[0] === task.value);
      const values = spec[0] === "sentiment" ? ["negative", "neutral", "positive"] : (options[spec[2] === "topics" ? "topic" : spec[2] === "emotions" ? "emotion" : spec[2]] || []);
      list.replaceChildren(...values.map((v) => new Option(spec[0] === "sentiment" ? tr(ru, "sentiments", v) : v, v)));
      input.value = current(task.value);
      input.placeholder = LIST_TASKS.has(task.value) ? "метки через |" : "верная метка";
    };
    task.addEventListener("change", fill);
    fill();
    const note = el("input");
    note.type = "text";
    note.name = "note";
    note.placeholder = "комментарий (необязательно)";
    note.maxLength = 2000;
    const save = el("button", null, "Сохранить");
    save.type = "submit";
    const cancel = el("button", "secondary", "Отмена");
    cancel.type = "button";
    cancel.addEventListener("click", () => { form.remove(); open.hidden = false; });
    form.append(task, input, list, note, save, cancel);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const t = task.value;
      const raw = input.value.trim();
      const value = LIST_TASKS.has(t) ? raw.split(/[|,]/).map((v) => v.trim()).filter(Boolean) : raw;
      if (!LIST_TASKS.has(t) && !value) { status.textContent = "Укажите верную метку."; return; }
      save.disabled = true;
      status.textContent = "Сохранение…";
      Promise.resolve(submit(row, t, value, note.value.trim() || null)).then((saved) => {
        const shown = (v) => Array.isArray(v) ? (v.join(", ") || "нет") : (t === "sentiment" ? tr(ru, "sentiments", v) : String(v ?? "—"));
        status.textContent = `Исправлено: ${shown(saved.old_value)} → ${shown(saved.new_value)}` +
          (saved.model_version ? ` (модель ${saved.model_version})` : "");
        form.remove();
        open.hidden = false;
      }).catch((err) => {
        status.textContent = String(err && err.message || err);
        save.disabled = false;
      });
    });
    box.insertBefore(form, status);
  });
  return box;
}

/** A table of rows: who/when/where, the masked text with evidence marked, every label (and, with ``correct``,
    a form to fix a label). */
function rowsTable(rows, ru, correct) {
  const table = el("table", "data drill-rows");
  const head = table.createTHead().insertRow();
  for (const title of ["Отзыв", "Текст (подсвечены основания меток)", "Метки"]) head.appendChild(el("th", null, title));
  const body = table.createTBody();
  for (const row of rows) {
    const tr_ = body.insertRow();
    tr_.dataset.id = row.id;
    const who = el("td", "who");
    who.appendChild(el("b", null, row.id));
    for (const line of [row.date, tr(ru, "channels", row.channel), row.week]) {
      if (line) who.appendChild(el("div", "muted", line));
    }
    const text = el("td", "text");
    text.appendChild(highlight(row.text || "", row.evidence));
    const lab = el("td");
    lab.appendChild(labels(row, ru));
    if (correct) lab.appendChild(correctionForm(row, ru, correct.options || {}, correct.submit));
    tr_.append(who, text, lab);
  }
  return table;
}

function csvCell(value) {
  let text = Array.isArray(value) ? value.map((v) => v == null ? "" : String(v)).join("|") : value == null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;  // no spreadsheet formulas (as voc.safe_csv does)
  return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

/** CSV of compact rows (list columns pipe-joined, formula prefixes neutralised). */
function csvOf(rows) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(","));
  return "\uFEFF" + lines.join("\r\n") + "\r\n";
}

function describe(filters, ru) {
  const parts = [];
  for (const key of FILTER_KEYS) {
    const v = filters[key];
    if (v) parts.push(`${tr(ru, "filters", key)}: ${key === "channel" ? tr(ru, "channels", v) : key === "sentiment" ? tr(ru, "sentiments", v) : v}`);
  }
  if (Array.isArray(filters.ids) && filters.ids.length) parts.push(`отзывы: ${filters.ids.join(", ")}`);
  return parts.length ? parts.join(" · ") : "все отзывы";
}

/** The drill-down panel: filter selects, the count, one page of rows, paging, CSV export.
    source = {options: {key: [values]}, load(filters, page, size) → Promise<{total, items}>, exportCsv(filters)} */
class Panel {
  constructor(root, source, ru) {
    this.root = root;
    this.source = source;
    this.ru = ru || {};
    this.filters = {};
    this.page = 1;
    this.selects = {};
    root.replaceChildren();
    root.hidden = true;
    this.closeButton = el("button", "secondary drill-close", "Закрыть ✕");
    this.closeButton.type = "button";
    this.closeButton.addEventListener("click", () => { this.root.hidden = true; document.body.style.paddingBottom = ""; });
    this.title = el("h2", null, "Отзывы за числом");
    this.caption = el("p", "muted drill-caption");
    const bar = el("div", "drill-filters");
    for (const key of FILTER_KEYS) {
      const values = (source.options || {})[key] || [];
      if (!values.length) continue;
      const label = el("label", null, tr(this.ru, "filters", key) + " ");
      const select = el("select");
      select.name = key;
      select.appendChild(new Option("все", ""));
      for (const v of values) {
        const shown = key === "channel" ? tr(this.ru, "channels", v) : key === "sentiment" ? tr(this.ru, "sentiments", v) : v;
        select.appendChild(new Option(shown, v));
      }
      select.addEventListener("change", () => { this.filters[key] = select.value || undefined; delete this.filters.ids; this.load(1); });
      this.selects[key] = select;
      label.appendChild(select);
      bar.appendChild(label);
    }
    const tools = el("div", "row");
    this.prev = el("button", "secondary", "← назад");
    this.next = el("button", "secondary", "дальше →");
    this.exportButton = el("button", null, "Скачать CSV");
    this.clear = el("button", "secondary", "Сбросить фильтры");
    for (const b of [this.prev, this.next, this.exportButton, this.clear]) b.type = "button";
    this.prev.addEventListener("click", () => this.load(this.page - 1));
    this.next.addEventListener("click", () => this.load(this.page + 1));
    this.clear.addEventListener("click", () => this.open({}, "Все отзывы"));
    this.exportButton.addEventListener("click", () => {
      Promise.resolve(this.source.exportCsv(this.filters)).catch((err) => { this.count.textContent = String(err.message || err); });
    });
    this.count = el("p", "drill-count", "");
    this.count.setAttribute("role", "status");
    tools.append(this.prev, this.next, this.exportButton, this.clear);
    this.table = el("div", "drill-table");
    root.append(this.closeButton, this.title, this.caption, bar, this.count, tools, this.table);
  }

  open(filters, title) {
    this.filters = Object.assign({}, filters || {});
    for (const [key, select] of Object.entries(this.selects)) {
      const v = this.filters[key] || "";
      if (v && ![...select.options].some((o) => o.value === v)) select.appendChild(new Option(v, v));
      select.value = v;
    }
    this.title.textContent = "Отзывы за числом" + (title ? ": " + title : "");
    this.root.hidden = false;
    document.body.style.paddingBottom = "64vh";  // the page can still scroll everything above the panel
    return this.load(1).then(() => { this.root.scrollTop = 0; });
  }

  load(page) {
    this.page = Math.max(1, page);
    this.caption.textContent = describe(this.filters, this.ru);
    this.count.textContent = "Загрузка…";
    return Promise.resolve(this.source.load(this.filters, this.page, PAGE_SIZE)).then((res) => {
      const pages = Math.max(1, Math.ceil(res.total / PAGE_SIZE));
      const first = res.total ? (this.page - 1) * PAGE_SIZE + 1 : 0;
      this.count.textContent = res.total
        ? `Найдено отзывов: ${res.total}. Показаны ${first}–${first + res.items.length - 1}, ` +
          `${this.filters.sort === "positive" ? "самые позитивные" : "самые негативные"} первыми.`
          + (res.note ? " " + res.note : "")
        : "Отзывов с такими условиями нет.";
      this.prev.disabled = this.page <= 1;
      this.next.disabled = this.page >= pages;
      this.exportButton.disabled = !res.total;
      const correct = this.source.correct ? {options: this.source.options, submit: this.source.correct} : null;
      this.table.replaceChildren(rowsTable(res.items, this.ru, correct));
    }).catch((err) => {
      this.count.textContent = String(err && err.message || err);
      this.table.replaceChildren();
    });
  }
}

/** Clicks (and Enter/Space) on any element with data-drill='{"stage": …}' open the panel with those filters. */
function bindClicks(scope, panel) {
  const open = (event) => {
    const target = event.target.closest && event.target.closest("[data-drill]");
    if (!target) return;
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    let filters = {};
    try { filters = JSON.parse(target.dataset.drill); } catch (_) { return; }
    panel.open(filters, target.dataset.drillTitle || "");
  };
  scope.addEventListener("click", open);
  scope.addEventListener("keydown", open);
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** Rows held in the page (report.html): filter, most negative first, page; CSV built here. */
function localSource(rows, options, note) {
  const score = (r) => (r.score == null ? 0 : r.score);
  const sorted = (filters) => rows.filter((r) => matches(r, filters))
    .sort(filters.sort === "positive" ? (a, b) => score(b) - score(a) : (a, b) => score(a) - score(b));
  return {
    options,
    load(filters, page, size) {
      const hits = sorted(filters);
      return {total: hits.length, items: hits.slice((page - 1) * size, page * size), note};
    },
    exportCsv(filters) {
      const hits = sorted(filters);
      saveBlob(new Blob([csvOf(hits)], {type: "text/csv;charset=utf-8"}), "voc-drill.csv");
    },
  };
}

global.VocDrill = {FILTER_KEYS, PAGE_SIZE, evidenceSpans, highlight, matches, labels, rowsTable, csvOf, describe,
                   correctionForm, Panel, bindClicks, localSource, saveBlob};
})(window);
