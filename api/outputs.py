"""What a finished batch shows: uploaded file names instead of server paths (report header, summary.json,
errors.csv, error messages) and rejected-row values cut and masked (:mod:`voc_api.pii`).

``voc.batch`` records the paths it was given; the worker calls :func:`scrub_outputs` once a job has run,
so the files the API serves afterwards hold no server path and no unmasked value.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator
from html import unescape
from pathlib import Path
from typing import Any, TextIO

from markupsafe import escape

from voc_api.pii import display_file, mask_rejected, mask_text

REJECTED_COLUMNS = ("file", "row", "field", "reason", "value")
ERROR_FILES = ("errors.csv", "ticket_errors.csv")
#: an absolute POSIX or Windows path (at the start, or after a space, quote, bracket, "=" or ",")
_ABS_PATH = re.compile(r"""(?:^|(?<=[\s'"(\[=,]))(?:[A-Za-z]:)?[\\/](?:[^\s'"\\/<>|*?]+[\\/])+[^\s'"\\/<>|*?,;)\]]*""")
#: written last by :func:`scrub_outputs`: the batch's files hold display names and masked values only
SCRUBBED_MARK = ".scrubbed"


def display_names(inputs: dict[str, Any], input_name: str) -> dict[str, str]:
    """Server path (and storage file name) → the name the client uploaded, for every input of a job."""
    shown = {"feedback": input_name or "upload", "tickets": inputs.get("tickets_name") or "tickets",
             "journey": inputs.get("journey_name") or "journey.yaml",
             "taxonomy": inputs.get("taxonomy_name") or "taxonomy.yaml",
             "causes": inputs.get("causes_name") or "causes.yaml", "columns": inputs.get("columns_name") or "columns.yaml"}
    names: dict[str, str] = {}
    for key, name in shown.items():
        path = inputs.get(key)
        if path:
            names[str(path)] = name
            names[Path(path).name] = name
    return names


def replace_paths(text: str, names: dict[str, str], html: bool = False) -> str:
    """``text`` with every server path of ``names`` replaced by its display name (longest first)."""
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if os.sep not in path:
            continue
        if html:
            text = text.replace(str(escape(path)), str(escape(name)))
        text = text.replace(path, str(escape(name)) if html else name)
    for folder in {str(Path(p).parent) for p in names if os.sep in p}:  # any other mention of the upload folder
        text = text.replace(folder + os.sep, "").replace(folder, "")
    if html:  # the report header lists bare stored file names ("файлы: file.csv"): show the uploaded names
        bare = {p: n for p, n in names.items() if os.sep not in p}

        def header(m: re.Match[str]) -> str:
            files = [str(escape(bare.get(str(unescape(f)), str(unescape(f))))) for f in m.group(2).split(", ")]
            return m.group(1) + ", ".join(files)

        text = re.sub(r"(файлы: )([^<\n]*)", header, text)
    return text


def _last_part(match: re.Match[str]) -> str:
    parts = [p for p in re.split(r"[\\/]", match.group(0)) if p]
    return parts[-1] if parts else ""


def safe_reason(text: str, names: dict[str, str], roots: Iterable[str | Path] = (), limit: int = 2000) -> str:
    """A failure message fit to store and show: uploads named as uploaded, any other server path cut to its
    last part (file name), the folders of ``roots`` (the data folder, given relative) removed, then masked."""
    text = replace_paths(text, names)
    for root in sorted({str(r).rstrip("\\/") for r in roots} - {"", "."}, key=len, reverse=True):
        end = r"(?:[\\/]|(?![\w.\-]))" if re.search(r"[\\/]", root) else r"[\\/]"  # a bare word stays
        text = re.sub(r"(?<![\w.\-\\/])" + re.escape(root) + end, "", text)
    return mask_text(_ABS_PATH.sub(_last_part, text), limit)


def iter_rejected(paths: Iterable[Path]) -> Iterator[dict[str, str]]:
    """Rows of rejected-row CSV files, one at a time (bounded memory)."""
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            yield from csv.DictReader(fh)


def write_rejected(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=list(REJECTED_COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _scrub_errors_csv(path: Path, names: dict[str, str]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        write_rejected((mask_rejected(r, names) for r in iter_rejected([path])), out)
    os.replace(tmp, path)


def scrub_outputs(outdir: Path, names: dict[str, str]) -> None:
    """Rewrite a finished batch's report, summary and error files with display names and masked values."""
    for name in ERROR_FILES:
        if (outdir / name).is_file():
            _scrub_errors_csv(outdir / name, names)
    report = outdir / "report.html"
    if report.is_file():
        report.write_text(replace_paths(report.read_text(encoding="utf-8"), names, html=True), encoding="utf-8")
    summary = outdir / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text(encoding="utf-8"))
        inner = data.get("summary", data)
        if isinstance(inner, dict) and isinstance(inner.get("input_files"), list):
            inner["input_files"] = [display_file(str(f), names) for f in inner["input_files"]]
        text = replace_paths(json.dumps(data, ensure_ascii=False, indent=2), names)
        summary.write_text(text, encoding="utf-8")
    (outdir / SCRUBBED_MARK).write_text("display names, masked values\n", encoding="utf-8")


def first_errors(outdir: Path, names: dict[str, str], limit: int = 20) -> list[dict[str, Any]]:
    """The first ``limit`` rejected rows of a batch (final errors.csv, else the parts so far), for output."""
    final = outdir / "errors.csv"
    paths = [final] if final.is_file() else sorted((outdir / "parts").glob("rejected-*.csv"))
    out = []
    for row in iter_rejected(paths):
        out.append(mask_rejected(row, names))
        if len(out) >= limit:
            break
    return out
