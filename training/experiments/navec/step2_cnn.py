"""Step 2: 1-D CNN over navec-initialised embeddings.  python step2_cnn.py {trainable|frozen} [epochs]

Vocab: train-part tokens seen >= 2 times that navec knows (navec init), plus train-part tokens seen >= 3 times that
navec lacks (punctuation/emoticon runs, rare forms: random init, always trainable), plus <pad>, <unk>.
frozen = navec rows get no gradient. Early stopping on validation macro-F1 (checked every half epoch).
Writes cache/cnn_{mode}.npz (val + test probabilities) and results_cnn_{mode}.json.
"""
from __future__ import annotations

import json
import pickle
import sys
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from common import CACHE, OUT, Timer, load_all, macro_f1, navec, np

torch.set_num_threads(1)
torch.manual_seed(0)
MODE = sys.argv[1]
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
ARCH = sys.argv[3] if len(sys.argv) > 3 else "cnn"
TAG = MODE if ARCH == "cnn" else f"{ARCH}_{MODE}"
MAXLEN, BATCH, FILTERS, WIDTHS = 80, 64, 192, (2, 3, 4)

T = Timer()
texts, y, w, tr, va, tests = load_all()
toks, ttoks = pickle.loads((CACHE / "tokens.pkl").read_bytes())
cnt = Counter(tok for i in tr for tok in toks[i])
nv = navec()
in_nv = [t for t, c in cnt.items() if c >= 2 and t in nv]
extra = [t for t, c in cnt.items() if c >= 3 and t not in nv]
itos = ["<pad>", "<unk>"] + in_nv + extra
stoi = {t: i for i, t in enumerate(itos)}
n_nv = len(in_nv)
E = np.stack([nv[t] for t in in_nv]).astype(np.float32)
std = float(E.std())
emb_init = np.random.default_rng(0).normal(0, std, (len(itos), 300)).astype(np.float32)
emb_init[0] = 0
emb_init[2:2 + n_nv] = E
print(f"vocab {len(itos)} (navec {n_nv}, extra {len(extra)})", T(), flush=True)


def encode(tl):
    ids = [stoi.get(t, 1) for t in tl][:MAXLEN]
    return ids or [1]


ids = [encode(t) for t in toks]
tids = {n: [encode(t) for t in ttoks[n]] for n in tests}
cw = len(tr) / (3 * np.bincount(y[tr], minlength=3))
sw = (w * cw[y]).astype(np.float32)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(len(itos), 300, padding_idx=0)
        self.emb.weight.data.copy_(torch.from_numpy(emb_init))
        self.convs = nn.ModuleList([nn.Conv1d(300, FILTERS, k, padding=k - 1) for k in WIDTHS])
        self.drop_in, self.drop = nn.Dropout(0.25), nn.Dropout(0.5)
        self.out = nn.Linear(FILTERS * len(WIDTHS), 3)

    def forward(self, x):
        mask = (x != 0)
        h = self.drop_in(self.emb(x)).transpose(1, 2)
        pooled = []
        for c in self.convs:
            z = F.relu(c(h))[:, :, :x.shape[1]]
            z = z.masked_fill(~mask[:, None, :], 0.0)  # relu >= 0, so 0 is a safe fill for max-pool
            pooled.append(z.max(2).values)
        return self.out(self.drop(torch.cat(pooled, 1)))


def batchify(seqs):
    L = max(len(s) for s in seqs)
    a = np.zeros((len(seqs), L), dtype=np.int64)
    for i, s in enumerate(seqs):
        a[i, :len(s)] = s
    return torch.from_numpy(a)


@torch.no_grad()
def predict(model, seqs):
    model.eval()
    order = np.argsort([len(s) for s in seqs])
    out = np.zeros((len(seqs), 3), dtype=np.float32)
    for b in range(0, len(seqs), 512):
        sel = order[b:b + 512]
        out[sel] = F.softmax(model(batchify([seqs[i] for i in sel])), 1).numpy()
    model.train()
    return out


class GRU(nn.Module):
    """BiGRU (hidden 128 per direction) over the embeddings, masked max-pool over time."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(len(itos), 300, padding_idx=0)
        self.emb.weight.data.copy_(torch.from_numpy(emb_init))
        self.rnn = nn.GRU(300, 128, batch_first=True, bidirectional=True)
        self.drop_in, self.drop = nn.Dropout(0.25), nn.Dropout(0.5)
        self.out = nn.Linear(256, 3)

    def forward(self, x):
        mask = (x != 0)
        lengths = mask.sum(1).clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(self.drop_in(self.emb(x)), lengths, batch_first=True,
                                                   enforce_sorted=False)
        h, _ = nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])
        h = h.masked_fill(~mask[:, :, None], -1e4)
        return self.out(self.drop(h.max(1).values))


model = CNN() if ARCH == "cnn" else GRU()
if MODE == "frozen":
    gmask = torch.ones(len(itos), 1)
    gmask[2:2 + n_nv] = 0
    model.emb.weight.register_hook(lambda g: g * gmask)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
best, best_state, log = -1.0, None, []
val_seqs = [ids[i] for i in va]
steps_per_epoch = (len(tr) + BATCH - 1) // BATCH
for ep in range(EPOCHS):
    # length-bucketed batches: sort shuffled rows by length within chunks of 50 batches, then shuffle batches
    perm = rng.permutation(tr)
    batches = []
    for c in range(0, len(perm), BATCH * 50):
        chunk = sorted(perm[c:c + BATCH * 50], key=lambda i: len(ids[i]))
        batches += [chunk[b:b + BATCH] for b in range(0, len(chunk), BATCH)]
    rng.shuffle(batches)
    for s, bt in enumerate(batches, 1):
        x = batchify([ids[i] for i in bt])
        logits = model(x)
        loss = (F.cross_entropy(logits, torch.from_numpy(y[bt]), reduction="none")
                * torch.from_numpy(sw[bt])).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if s == len(batches) // 2 or s == len(batches):
            f = macro_f1(y[va], predict(model, val_seqs))
            log.append({"epoch": ep + (0.5 if s < len(batches) else 1.0), "val": f, "t": T()})
            print(log[-1], flush=True)
            if f > best:
                best, best_state = f, {k: v.clone() for k, v in model.state_dict().items()}
train_s = T()
model.load_state_dict(best_state)
pv = predict(model, val_seqs)
pt = {n: predict(model, tids[n]) for n in tests}
np.savez(CACHE / f"cnn_{TAG}.npz", val=pv, **pt)
n_params = sum(p.numel() for p in model.parameters())
r = {"mode": MODE, "arch": ARCH, "val": macro_f1(y[va], pv), **{n: macro_f1(tests[n][1], pt[n]) for n in tests},
     "train_s": train_s, "log": log, "vocab": len(itos), "navec_rows": n_nv, "extra_rows": len(extra),
     "params": n_params, "fp16_bytes": n_params * 2,
     "config": {"maxlen": MAXLEN, "batch": BATCH, "filters": FILTERS, "widths": WIDTHS, "lr": 1e-3,
                "dropout": [0.25, 0.5], "epochs_max": EPOCHS}}
print({k: v for k, v in r.items() if k != "log"}, flush=True)
(OUT / f"results_cnn_{TAG}.json").write_text(json.dumps(r, indent=2), encoding="utf-8")
