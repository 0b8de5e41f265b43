"""Train the CTC command recognizer on degrade.py's features.

usage: train.py DATADIR OUT.pt [--minutes 20] [--epochs 30] [--seed 20261121]
Fixed seed, torch.set_num_threads(2). Stops after --epochs or when --minutes is used up (whole epochs only
when possible; the schedule is planned for the epoch count that fits the first epoch's time).
"""
import argparse
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grammar  # noqa: E402
from model import CommandCtc  # noqa: E402


def load(path):
    """[(feats, target)], [source utterance index of each example]."""
    z = np.load(path)
    feats, lens, targets, tlens = z["feats"], z["lens"], z["targets"], z["tlens"]
    fo = np.concatenate([[0], np.cumsum(lens)])
    to = np.concatenate([[0], np.cumsum(tlens)])
    groups = z["groups"] if "groups" in z else np.arange(len(lens))
    return [(feats[fo[i]:fo[i + 1]], targets[to[i]:to[i + 1]]) for i in range(len(lens))], groups


def batches(data, rng, max_frames=12000):
    idx = sorted(range(len(data)), key=lambda i: len(data[i][0]) + rng.random() * 20)
    out, cur, longest = [], [], 0
    for i in idx:
        l = len(data[i][0])
        if cur and max(longest, l) * (len(cur) + 1) > max_frames:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, l)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(data, ids, rng=None):
    T = max(len(data[i][0]) for i in ids)
    x = np.zeros((len(ids), T, 80), np.float32)
    for k, i in enumerate(ids):
        f = data[i][0].astype(np.float32)
        if rng is not None:  # SpecAugment: 2 freq masks, time masks
            f = f.copy()
            mu = f.mean(axis=0)  # masks are filled with the utterance's per-bin mean (raw log-mel input)
            for _ in range(2):
                w = rng.randint(0, 12)
                s = rng.randint(0, 80 - w)
                f[:, s:s + w] = mu[s:s + w]
            for _ in range(max(1, len(f) // 120)):
                w = rng.randint(0, 8)
                s = rng.randint(0, max(1, len(f) - w))
                f[s:s + w] = mu
        x[k, :len(f)] = f
    lens = torch.tensor([len(data[i][0]) for i in ids])
    tg = torch.tensor(np.concatenate([data[i][1] for i in ids]), dtype=torch.long)
    tl = torch.tensor([len(data[i][1]) for i in ids])
    return torch.from_numpy(x).transpose(1, 2), lens, tg, tl


def greedy(lp, ol):
    out = []
    am = lp.argmax(-1)
    for k in range(lp.shape[0]):
        prev, seq = -1, []
        for t in am[k, :ol[k]].tolist():
            if t != prev and t != 0:
                seq.append(t)
            prev = t
        out.append(seq)
    return out


def evaluate(model, data):
    model.eval()
    ok = n = 0
    with torch.no_grad():
        for ids in batches(data, random.Random(0), 30000):
            x, lens, _, _ = collate(data, ids)
            lp = model(x, lens)
            for i, seq in zip(ids, greedy(lp, CommandCtc.out_lengths(lens))):
                ok += seq == list(data[i][1])
                n += 1
    model.train()
    return ok / max(n, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--arch", default="conv", choices=["conv", "gru"])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--init", help="start from this checkpoint (second training stage)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    np.random.seed(a.seed)
    data, groups = load(os.path.join(a.datadir, "train_feats.npz"))
    # dev: 300 source utterances held out with all their copies (a copy in train would leak the dev audio)
    src = sorted(set(groups.tolist()))
    dev_src = set(rng.sample(src, min(300, len(src) // 10)))
    dev = [d for d, g in zip(data, groups) if g in dev_src]
    train = [d for d, g in zip(data, groups) if g not in dev_src]
    model = CommandCtc(len(grammar.TOKENS), arch=a.arch)
    if a.init:
        model.load_state_dict(torch.load(a.init)["state"])
    print("params %d, train %d, dev %d" % (sum(p.numel() for p in model.parameters()), len(train), len(dev)))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-2)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    t0 = time.time()
    epochs = a.epochs
    step = 0
    total_steps = None
    for ep in range(10 ** 6):
        if ep >= epochs:
            break
        bs = batches(train, rng)
        if total_steps is None:
            total_steps = epochs * len(bs)
        tot = 0.0
        for ids in bs:
            # linear warmup then cosine decay over the planned steps
            frac = step / max(total_steps, 1)
            lr = a.lr * min(1.0, step / 300) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
            for g in opt.param_groups:
                g["lr"] = max(lr, 2e-5)
            x, lens, tg, tl = collate(train, ids, rng)
            lp = model(x, lens)
            loss = ctc(lp.transpose(0, 1), tg, CommandCtc.out_lengths(lens), tl)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            tot += loss.item()
            step += 1
            if step % 100 == 0:
                print("  step %d loss %.3f lr %.5f %.1f min" % (step, loss.item(), lr, (time.time() - t0) / 60),
                      flush=True)
        el = (time.time() - t0) / 60
        if ep == 0:  # plan the schedule for the epochs that fit the time budget
            epochs = max(1, min(a.epochs, int(a.minutes / el)))
            total_steps = epochs * len(bs)
            print("epoch time %.1f min -> %d epochs" % (el, epochs))
        print("epoch %d loss %.4f dev-seq-acc %.4f  %.1f min" % (ep, tot / len(bs), evaluate(model, dev), el),
              flush=True)
        torch.save({"arch": a.arch, "state": model.state_dict()}, a.out)
    print("training done in %.1f min" % ((time.time() - t0) / 60))


if __name__ == "__main__":
    main()
