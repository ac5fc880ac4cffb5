"""Driver analysis: which topics and complaint causes move NPS, CSAT and CES.

For each score, over the records that carry it: ordinary least squares of the score on an intercept plus
one-hot topics (a record may have several) and one-hot causes (records without a cause are the baseline).
Only topics/causes with at least ``MIN_ITEM_ROWS`` scored records enter the model (the 30 most frequent of
each kind). Coefficients come with classical 95 % confidence intervals (t distribution, n − p degrees of
freedom), p-values and row counts. The design is sparse (a few ones per row), so X'X and X'y are built with
scipy.sparse: 1M rows cost a few MB, not a dense n × p matrix. An effect is **harmful** when it lowers NPS
or CSAT or raises CES (CES: 1 very easy … 7 very hard) and **measured** when its interval excludes 0.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.stats import t as student_t

from voc.aggregate.models import Driver, DriverTable
from voc.aggregate.view import FrameView

MIN_SCORED_ROWS = 30
MIN_ITEM_ROWS = 10
MAX_ITEMS_PER_KIND = 30
#: score → (scale width used to normalise an effect to 0..1, +1 if higher is better else −1, Russian unit)
TARGETS: dict[str, tuple[float, int, str]] = {"nps": (10.0, 1, "балла NPS (0–10)"),
                                              "csat": (4.0, 1, "балла CSAT (1–5)"),
                                              "ces": (6.0, -1, "балла CES (1–7, выше — труднее)")}


def indicator_matrix(view: FrameView) -> tuple[sparse.csr_matrix, list[tuple[str, str]]]:
    """Sparse 0/1 matrix (all rows × every topic and cause) from the categorical codes, and its column names."""
    topics = view.topics
    t_cat = topics["item"].cat
    rows = [topics["row"].to_numpy()]
    cols = [t_cat.codes.to_numpy().astype(np.int64)]
    names = [("topic", str(c)) for c in t_cat.categories]
    c_rows, c_items = view.causes
    if len(c_rows):
        rows.append(np.asarray(c_rows))
        cols.append(np.asarray(c_items.codes, dtype=np.int64) + len(names))
        names += [("cause", str(c)) for c in c_items.categories]
    r, c = np.concatenate(rows), np.concatenate(cols)
    ok = c >= 0
    matrix = sparse.csr_matrix((np.ones(int(ok.sum())), (r[ok], c[ok])), shape=(len(view), len(names)))
    matrix.data[:] = 1.0  # duplicate (row, item) pairs count once
    return matrix, names


def _columns(items: sparse.csr_matrix, names: list[tuple[str, str]]) -> tuple[list[int], list[int]]:
    """Columns with ≥ MIN_ITEM_ROWS scored rows, the most frequent MAX_ITEMS_PER_KIND of each kind; their counts."""
    counts = np.asarray(items.sum(axis=0)).ravel().astype(int)
    keep: list[int] = []
    for kind in ("topic", "cause"):
        idx = [j for j, (k, _) in enumerate(names) if k == kind and counts[j] >= MIN_ITEM_ROWS]
        keep += sorted(idx, key=lambda j: (-counts[j], names[j][1]))[:MAX_ITEMS_PER_KIND]
    return keep, [int(counts[j]) for j in keep]


def fit_drivers(view: FrameView, target: str,
                matrix: tuple[sparse.csr_matrix, list[tuple[str, str]]] | None = None) -> DriverTable | None:
    """OLS of one score on topic/cause indicators; None when too few records carry the score."""
    y_all = view.number(target)
    scored = np.flatnonzero(~np.isnan(y_all))
    if len(scored) < MIN_SCORED_ROWS:
        return None
    y = y_all[scored]
    full, all_names = matrix if matrix is not None else indicator_matrix(view)
    items = full[scored]
    keep, counts = _columns(items, all_names)
    names = [all_names[j] for j in keep]
    if not names:
        return None
    x = sparse.hstack([sparse.csr_matrix(np.ones((len(scored), 1))), items[:, keep]], format="csr")
    n, p = x.shape
    if n <= p:
        return None
    xtx = (x.T @ x).toarray()
    xty = np.asarray(x.T @ y).ravel()
    inv = np.linalg.pinv(xtx)
    beta = inv @ xty
    rss = max(float(y @ y - 2 * beta @ xty + beta @ xtx @ beta), 0.0)
    tss = float(((y - y.mean()) ** 2).sum())
    df = n - np.linalg.matrix_rank(xtx)
    sigma2 = rss / df if df > 0 else np.nan
    se = np.sqrt(np.clip(np.diag(inv) * sigma2, 0, None))
    crit = float(student_t.ppf(0.975, df)) if df > 0 else np.nan
    width, better, unit = TARGETS[target]
    drivers = []
    for k, ((kind, name), count) in enumerate(zip(names, counts, strict=True), start=1):
        coef, s = float(beta[k]), float(se[k])
        tstat = coef / s if s > 0 else np.nan
        pval = float(2 * student_t.sf(abs(tstat), df)) if np.isfinite(tstat) else None
        low, high = coef - crit * s, coef + crit * s
        harm = -better * coef / width
        measured = bool(np.isfinite(low) and (low > 0 or high < 0))
        drivers.append(Driver(kind=kind, name=name, n=count, coef=round(coef, 4), ci_low=round(low, 4),
                              ci_high=round(high, 4), p_value=None if pval is None else round(pval, 5),
                              harm=round(harm, 4), measured=measured))
    drivers.sort(key=lambda d: -d.harm)
    return DriverTable(target=target, n=n, r2=round(1 - rss / tss, 4) if tss > 0 else None,
                       intercept=round(float(beta[0]), 4), unit=unit, drivers=drivers)


def compute_drivers(view: FrameView) -> list[DriverTable]:
    """Driver tables of NPS, CSAT and CES (those with enough scored records)."""
    if not any(view.has(t) for t in TARGETS):
        return []
    matrix = indicator_matrix(view)
    return [table for target in TARGETS if (table := fit_drivers(view, target, matrix)) is not None]


def measured_effects(tables: list[DriverTable]) -> dict[tuple[str, str], tuple[float, str]]:
    """(kind, name) → (harm normalised to 0..1, a Russian sentence) of the strongest measured harmful effect."""
    best: dict[tuple[str, str], tuple[float, str]] = {}
    for table in tables:
        for d in table.drivers:
            if not d.measured or d.harm <= 0:
                continue
            lower = "выше" if table.target == "ces" else "ниже"
            lo, hi = sorted((abs(d.ci_low), abs(d.ci_high)))
            text = (f"{table.target.upper()} {lower} на {abs(d.coef):.2f} балла "
                    f"(95 % ДИ {lo:.2f}–{hi:.2f}, n={d.n})")
            if d.harm > best.get((d.kind, d.name), (0.0, ""))[0]:
                best[(d.kind, d.name)] = (min(d.harm, 1.0), text)
    return best
