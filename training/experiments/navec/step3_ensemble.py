"""Step 3: TF-IDF (shipped; its val rows are the held-out 10 %) + CNN probability ensembles, weight chosen on val.
Merges every step's numbers into results.json."""
from __future__ import annotations

import json
from itertools import product

from common import CACHE, OUT, load_all, macro_f1, np, shipped_probs

from voc_training.evaluate import paired_bootstrap_macro_f1

texts, y, w, tr, va, tests = load_all()
pv0, pt0 = shipped_probs(texts, va, tests)
nets = {}
for f in sorted(CACHE.glob("cnn_*.npz")):
    mode = f.stem[4:]
    if True:
        z = np.load(f)
        nets[mode] = (z["val"], {n: z[n] for n in tests})


def onehot(a):
    return np.eye(3, dtype=bool)[a]


def combine(ps, ws, kind):
    if kind == "prob":
        return sum(wi * p for wi, p in zip(ws, ps, strict=True))
    return sum(wi * np.log(np.clip(p, 1e-7, 1)) for wi, p in zip(ws, ps, strict=True))


def scores(pv, pt):
    return {"val": macro_f1(y[va], pv), **{n: macro_f1(tests[n][1], pt[n]) for n in tests}}


ens = {}
grid = np.round(np.arange(0, 1.0001, 0.05), 2)
combos = [(m,) for m in nets] + ([tuple(nets)] if len(nets) > 1 else [])
for combo, kind in product(combos, ("prob", "logprob")):
    ps_v = [pv0] + [nets[m][0] for m in combo]
    best = None
    g = grid if len(combo) <= 2 else np.round(np.arange(0, 1.0001, 0.1), 1)
    for ws in product(g, repeat=len(combo)):
        if sum(ws) > 1:
            continue
        wts = (1 - sum(ws), *ws)
        f = macro_f1(y[va], combine(ps_v, wts, kind))
        if best is None or f > best[0]:
            best = (f, wts)
    wts = best[1]
    pt = {n: combine([pt0[n]] + [nets[m][1][n] for m in combo], wts, kind) for n in tests}
    r = {"weights(tfidf," + ",".join(combo) + ")": [float(x) for x in wts],
         **scores(combine(ps_v, wts, kind), pt)}
    r["bootstrap_vs_tfidf"] = {n: paired_bootstrap_macro_f1(onehot(tests[n][1]), onehot(pt[n].argmax(1)),
                                                            onehot(pt0[n].argmax(1)))
                               for n in tests}
    ens[f"tfidf+{'+'.join(combo)} ({kind})"] = r
    print(f"tfidf+{'+'.join(combo)} ({kind})", {k: v for k, v in r.items() if k != "bootstrap_vs_tfidf"},
          flush=True)

results = json.loads((OUT / "results_step1.json").read_text())
results["step2_cnn"] = {}
for mode in nets:
    results["step2_cnn"][mode] = json.loads((OUT / f"results_cnn_{mode}.json").read_text())
results["step3_ensemble"] = ens
(OUT / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
print("wrote results.json")
