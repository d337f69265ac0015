#!/usr/bin/python3
"""The seed's claim, measured: does data amplification help a small CNN
trained on few images, and does it (or vigil's corrections) help on
degraded pictures?

Fashion-MNIST (Debian's dataset-fashion-mnist: 60,000 training, 10,000 test
pictures, 28x28 grey). The same network as `vigil train classifier`
(tools/train_classifier.py: three conv blocks, ~25k weights) is trained on
the first N training pictures (N in the grid), with and without
amplification (vigil's augment library through ctypes, recipe AMPLIFY
below), for each seed. Accuracy is measured on the clean test split, on the
test split degraded by vigil's own night, fog, rain and noise transforms
(the same library, CONDITIONS below), and on the degraded split after
vigil's corrections (pipeline/correct in auto mode, via fashion_correct:
the pictures tiled into 560x560 frames, one correction state per
condition, as a camera's frames).

usage: fashion_mnist.py --build BUILD [--grid reduced|full] [--out DIR]
  reduced: N = 500, 2000; one seed; 6 epochs; 1,000 test pictures (the test
  command runs it: about a minute on one core).
  full:    N = 500, 2,000, 10,000, 60,000; seeds 0, 1, 2; epochs so that each
  run sees about 60,000 pictures (at least 3 epochs, at most 60); all 10,000
  test pictures (about half an hour on one core: a benchmark).
Writes DIR/fashion-mnist.json (every run), DIR/fashion-mnist.md (the table:
mean +- spread (max - min over seeds)) and DIR/fashion-mnist.png (the plot).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import train_classifier as tc  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
AMPLIFY = ("mirror p=0.5; translate dx=-0.1:0.1 dy=-0.1:0.1 p=0.8; rotate deg=-10:10 p=0.5; "
           "scale s=0.9:1.1 p=0.5; brightness add=-25:25 p=0.5; contrast factor=0.75:1.25 p=0.5; "
           "gauss sigma=0:6 p=0.3")
# On 28x28 pictures: rain's streak count is per 768x576, so 6000 gives ~10
# streaks a picture (10 to 14 rows long: half the picture); noise is strong
# sensor noise.
CONDITIONS = {
    "night": "night",
    "fog": "fog",
    "rain": "rain streaks=6000 len=10:14",
    "noise": "gauss sigma=25",
}
GRIDS = {
    "reduced": {"sizes": [500, 2000], "seeds": [0], "test": 1000, "budget": None, "epochs": 6},
    "full": {"sizes": [500, 2000, 10000, 60000], "seeds": [0, 1, 2], "test": 10000, "budget": 60000,
             "epochs": None},
}


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    if raw[2] != 8:
        raise ValueError(name + ": not unsigned bytes")
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims).copy()


def load():
    if not os.path.isdir(DATA):
        sys.exit("fashion_mnist: %s missing (apt install dataset-fashion-mnist; scripts/install-deps.sh)" % DATA)
    xt = idx("train-images-idx3-ubyte.gz")[:, :, :, None]
    yt = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    xs = idx("t10k-images-idx3-ubyte.gz")[:, :, :, None]
    ys = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return xt, yt, xs, ys


def correct(build, x, tag):
    """vigil's corrections (auto) in front of x (uint8 N,28,28,1)."""
    tool = os.path.join(build, "bench", "fashion", "fashion_correct")
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.u8"), os.path.join(d, "out.u8")
        np.ascontiguousarray(x).tofile(src)
        r = subprocess.run([tool, src, dst, str(len(x)), "28", "28", "auto"], capture_output=True, text=True)
        if r.returncode:
            sys.exit("fashion_correct failed: " + r.stderr)
        chosen = r.stderr.strip().split(";", 1)[-1].strip()
        return np.fromfile(dst, np.uint8).reshape(x.shape), chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="the build folder (libvigil_augment.so, fashion_correct)")
    ap.add_argument("--grid", choices=GRIDS, default="reduced")
    ap.add_argument("--out", default=".")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    grid = GRIDS[a.grid]
    lib = os.path.join(a.build, "augment", "libvigil_augment.so")
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    xt, yt, xs, ys = load()
    xs, ys = xs[:grid["test"]], ys[:grid["test"]]

    # the test splits: clean, degraded (seed 1000: not a training seed), corrected
    splits = {"clean": xs}
    chosen = {}
    for name, recipe in CONDITIONS.items():
        aug = tc.Augment(lib, recipe, 28, 28)
        splits[name] = aug(xs, 1000, 0)
        aug.close()
        splits[name + "+corr"], chosen[name] = correct(a.build, splits[name], name)
    print("test splits: %s (%d pictures); corrections auto chose: %s" % (
        ", ".join(splits), len(xs), "; ".join("%s: %s" % kv for kv in chosen.items())), flush=True)
    examples(splits, os.path.join(a.out, "fashion-mnist-examples.png"))

    runs = []
    for n in grid["sizes"]:
        epochs = grid["epochs"] or max(3, min(60, round(grid["budget"] / n)))
        for amp in (False, True):
            for seed in grid["seeds"]:
                t = time.time()
                net, info = tc.train(xt[:n], yt[:n], 10, epochs=epochs, amplify=AMPLIFY if amp else None,
                                     augment_lib=lib, seed=seed, val=0.1, patience=5, batch=64,
                                     threads=a.threads, quiet=True)
                acc = {k: round(tc.evaluate(net, v, ys)[0], 4) for k, v in splits.items()}
                run = {"n": n, "amplify": amp, "seed": seed, "epochs": epochs, "epochs_run": info["epochs_run"],
                       "seconds": round(time.time() - t, 1), "accuracy": acc}
                runs.append(run)
                print("n=%-5d amplify=%-5s seed=%d epochs=%d/%d  %s  (%.0fs)" % (
                    n, amp, seed, info["epochs_run"], epochs,
                    " ".join("%s %.3f" % kv for kv in acc.items()), run["seconds"]), flush=True)

    result = {"grid": a.grid, "grid_settings": grid, "amplify": AMPLIFY, "conditions": CONDITIONS,
              "corrections_chosen": chosen, "test_pictures": len(xs), "runs": runs,
              "seconds": round(time.time() - t0)}
    with open(os.path.join(a.out, "fashion-mnist.json"), "w") as f:
        json.dump(result, f, indent=1)
    table = summary(runs, list(splits))
    with open(os.path.join(a.out, "fashion-mnist.md"), "w") as f:
        f.write(table)
    print(table)
    plot(runs, list(splits), os.path.join(a.out, "fashion-mnist.png"), a.grid)
    return 0


def summary(runs, split_names):
    """Markdown: one row per (N, amplify), mean +- spread over seeds per split."""
    head = "| N | amplify | " + " | ".join(split_names) + " |\n"
    head += "|---:|---|" + "---:|" * len(split_names) + "\n"
    rows = []
    for n in sorted({r["n"] for r in runs}):
        for amp in (False, True):
            rs = [r for r in runs if r["n"] == n and r["amplify"] == amp]
            cells = []
            for s in split_names:
                v = np.array([r["accuracy"][s] for r in rs]) * 100
                cells.append("%.1f ± %.1f" % (v.mean(), (v.max() - v.min()) / 2) if len(v) > 1 else "%.1f" % v[0])
            rows.append("| %d | %s | %s |\n" % (n, "yes" if amp else "no", " | ".join(cells)))
    return head + "".join(rows)


def examples(splits, path, count=8):
    """The first test pictures as each split shows them, one row per split."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(splits)
    fig, axes = plt.subplots(len(names), count, figsize=(count * 0.8, len(names) * 0.85))
    for r, name in enumerate(names):
        for c in range(count):
            ax = axes[r][c]
            ax.imshow(splits[name][c, :, :, 0], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=7, rotation=0, ha="right", va="center")
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=100)
    try:  # grey pictures: one channel is a third of the file
        from PIL import Image
        Image.open(path).convert("L").save(path, optimize=True)
    except ImportError:
        pass


def plot(runs, split_names, path, grid):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("fashion_mnist: no matplotlib (apt install python3-matplotlib): no plot")
        return
    sizes = sorted({r["n"] for r in runs})
    panels = [s for s in split_names if "+corr" not in s]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), sharey=True)
    for ax, s in zip(axes, panels):
        for amp, colour in ((False, "tab:blue"), (True, "tab:orange")):
            for key, style in ((s, "-"), (s + "+corr", "--")):
                if key not in split_names:
                    continue
                m, lo, hi = [], [], []
                for n in sizes:
                    v = np.array([r["accuracy"][key] for r in runs if r["n"] == n and r["amplify"] == amp]) * 100
                    m.append(v.mean()), lo.append(v.min()), hi.append(v.max())
                label = ("amplified" if amp else "plain") + (" + vigil corrections" if key != s else "")
                ax.plot(sizes, m, style, color=colour, marker="o", ms=3, label=label)
                ax.fill_between(sizes, lo, hi, color=colour, alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_title(s)
        ax.set_xlabel("training pictures")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Fashion-MNIST, small CNN, %s grid: amplification and degraded test pictures" % grid, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print("plot: " + path)


if __name__ == "__main__":
    sys.exit(main())
