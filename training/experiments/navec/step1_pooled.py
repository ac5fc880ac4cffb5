"""Step 1: pooled navec vectors -> LR; then [TF-IDF | scaled pooled navec] -> LR. Writes cache + results_step1.json."""
from __future__ import annotations

import json
import pickle
from collections import Counter

import scipy.sparse as sp
from common import CACHE, OUT, Timer, load_all, macro_f1, navec, np, shipped_probs, tokenize
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

T = Timer()
texts, y, w, tr, va, tests = load_all()
pv_ship, pt_ship = shipped_probs(texts, va, tests)
res = {"split": {"train": len(tr), "val": len(va)},
       "tfidf_shipped": {"val": macro_f1(y[va], pv_ship),
                         **{n: macro_f1(tests[n][1], pt_ship[n]) for n in tests}}}
print("shipped", res["tfidf_shipped"], T(), flush=True)

# tokens (cached for step 2)
tokf = CACHE / "tokens.pkl"
if tokf.exists():
    toks, ttoks = pickle.loads(tokf.read_bytes())
else:
    toks = [tokenize(t) for t in texts]
    ttoks = {n: [tokenize(t) for t in tx] for n, (tx, _) in tests.items()}
    tokf.write_bytes(pickle.dumps((toks, ttoks)))
cnt = Counter(tok for i in tr for tok in toks[i])
nv = navec()
vocab = [t for t in cnt if t in nv]
print("train-part types", len(cnt), "in navec", len(vocab), T(), flush=True)
E = np.stack([nv[t] for t in vocab]).astype(np.float32)
np.save(CACHE / "navec_train_vocab.npy", E)
(CACHE / "navec_train_vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
idx = {t: i for i, t in enumerate(vocab)}
total = sum(cnt.values())
sif = np.array([1e-3 / (1e-3 + cnt[t] / total) for t in vocab], dtype=np.float32)


def pooled(tok_lists):
    out = np.zeros((len(tok_lists), 900), dtype=np.float32)
    for r, tl in enumerate(tok_lists):
        ids = [idx[t] for t in tl if t in idx]
        if ids:
            v = E[ids]
            out[r, :300] = v.mean(0)
            out[r, 300:600] = v.max(0)
            out[r, 600:] = (v * sif[ids, None]).sum(0) / len(ids)
    return out


X = pooled(toks)
XT = {n: pooled(ttoks[n]) for n in tests}
print("pooled", T(), flush=True)


def fit_eval(cols, C, name):
    t = Timer()
    sc = StandardScaler().fit(X[tr][:, cols])
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
    clf.fit(sc.transform(X[tr][:, cols]), y[tr], sample_weight=w[tr])
    pv = clf.predict_proba(sc.transform(X[va][:, cols]))
    r = {"val": macro_f1(y[va], pv), "train_s": t()}
    for n in tests:
        r[n] = macro_f1(tests[n][1], clf.predict_proba(sc.transform(XT[n][:, cols])))
    print(name, C, r, flush=True)
    return r


MEAN, MAX, SIF = slice(0, 300), slice(300, 600), slice(600, 900)
mm = np.r_[0:600]
res["navec_mean_max_lr"] = {f"C={C}": fit_eval(mm, C, "mean+max") for C in (0.1, 1.0)}
res["navec_sif_max_lr"] = {"C=1.0": fit_eval(np.r_[300:900], 1.0, "sif+max")}

# concat with TF-IDF features of the shipped vectorizer (vocab/idf fitted on exactly this train part)
from voc_models.tfidf import TfidfClassifier  # noqa: E402

m = TfidfClassifier.load(OUT.parent.parent / "models/shipped/sentiment-tfidf")
Xtf = m.transform(texts)
XTtf = {n: m.transform(tests[n][0]) for n in tests}
print("tfidf transform", T(), flush=True)
sc = StandardScaler().fit(X[tr][:, mm])


def dense_block(A, alpha):
    # standardised [mean|max] divided by sqrt(dim): unit-ish L2 norm like each TF-IDF block, times alpha
    return sp.csr_matrix(sc.transform(A[:, mm]) * (alpha / np.sqrt(len(mm))))


res["tfidf_plus_navec_lr"] = {}
for alpha in (0.5, 1.0):
    t = Timer()
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=0)
    clf.fit(sp.hstack([Xtf[tr], dense_block(X[tr], alpha)], format="csr"), y[tr], sample_weight=w[tr])
    pv = clf.predict_proba(sp.hstack([Xtf[va], dense_block(X[va], alpha)], format="csr"))
    r = {"val": macro_f1(y[va], pv), "train_s": t()}
    for n in tests:
        r[n] = macro_f1(tests[n][1], clf.predict_proba(sp.hstack([XTtf[n], dense_block(XT[n], alpha)], format="csr")))
    res["tfidf_plus_navec_lr"][f"alpha={alpha}"] = r
    print("tfidf+navec", alpha, r, flush=True)
    np.savez(CACHE / f"concat_probs_a{alpha}.npz", val=pv)
res["vocab"] = {"train_types": len(cnt), "in_navec": len(vocab),
                "fp16_bytes_train_vocab": int(len(vocab) * 300 * 2)}
(OUT / "results_step1.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
print("done", T())
