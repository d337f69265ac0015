#!/usr/bin/python3
"""vigil train classifier: a small CNN trained on the CPU with Debian's
PyTorch, exported to ONNX with the manifest vigil's engine loads.

Run by `vigil train classifier` (tools/train.c), which passes the path of
libvigil_augment.so; bench/fashion_mnist.py imports it as a module.

Data amplification is vigil's own C library (augment/augment.h), called
through ctypes on the shared library: the amplified set changes every
epoch (image i of epoch e gets the draws of index e * N + i under the
seed), so preparing batches with the CLI would mean writing N x epochs
pictures to disk; through ctypes a 60,000-image epoch is amplified in
memory in about a second, and the trainer and `vigil augment` run the
same code.

Reproducible: one seed fixes the split, the initial weights, the order of
the batches and the amplification; PyTorch runs deterministic algorithms
on one thread by default.
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, SCALE = 127.5, 1.0 / 127.5
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


class Augment:
    """ctypes binding of libvigil_augment.so: uint8 NHWC batches in, same out."""

    def __init__(self, lib, recipe, width, height):
        self.lib = ctypes.CDLL(lib)
        self.lib.vg_augment_open.restype = ctypes.c_void_p
        self.lib.vg_augment_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                             ctypes.c_size_t]
        self.lib.vg_augment_batch.restype = ctypes.c_int
        self.lib.vg_augment_batch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                              ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_uint64,
                                              ctypes.c_uint64]
        self.lib.vg_augment_close.argtypes = [ctypes.c_void_p]
        err = ctypes.create_string_buffer(512)
        self.handle = self.lib.vg_augment_open(recipe.encode(), width, height, err, len(err))
        if not self.handle:
            raise ValueError("recipe %r: %s" % (recipe, err.value.decode()))

    def __call__(self, x, seed, first_index):
        """x: uint8 array (N, H, W, C), C 1 or 3. Returns a new amplified array."""
        x = np.ascontiguousarray(x, dtype=np.uint8)
        out = np.empty_like(x)
        n, h, w, c = x.shape
        r = self.lib.vg_augment_batch(self.handle, x.ctypes.data, out.ctypes.data, n, w, h, c, seed, first_index)
        if r < 0:
            raise OSError(-r, os.strerror(-r))
        return out

    def close(self):
        if self.handle:
            self.lib.vg_augment_close(self.handle)
            self.handle = None


def find_augment_lib(explicit=None):
    for p in (explicit, os.environ.get("VIGIL_AUGMENT_LIB")):
        if p and os.path.exists(p):
            return p
    here = os.path.dirname(os.path.abspath(__file__))
    for p in (os.path.join(here, "..", "build", "augment", "libvigil_augment.so"),):
        if os.path.exists(p):
            return p
    return "libvigil_augment.so"  # the loader's search path (installed)


class Net(nn.Module):
    """Three conv blocks (BatchNorm folds into the convs in vigil's engine),
    global average pooling, one linear layer; ~25k weights."""

    def __init__(self, channels, classes, width=16):
        super().__init__()
        w = width
        self.c1, self.b1 = nn.Conv2d(channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w)
        self.c2, self.b2 = nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w)
        self.c3, self.b3 = nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False), nn.BatchNorm2d(4 * w)
        self.fc = nn.Linear(4 * w, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)
        x = F.relu(self.b3(self.c3(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class WithSoftmax(nn.Module):
    """What is exported: probabilities (the manifest says class_scores: probability)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


def to_tensor(x):
    """uint8 NHWC -> float NCHW normalized as the manifest tells vigil's engine."""
    return (torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float() - MEAN) * SCALE


def load_imagefolder(root, width, height, colour):
    """DATASET/LABEL/*.jpg|png -> (uint8 N,H,W,C, int64 labels, label names); sorted, so deterministic."""
    from PIL import Image
    labels = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    xs, ys = [], []
    for k, lab in enumerate(labels):
        for f in sorted(os.listdir(os.path.join(root, lab))):
            if not f.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            im = Image.open(os.path.join(root, lab, f)).convert("RGB").resize((width, height), Image.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
            if colour == "gray":
                a = np.rint(a.astype(np.float32) @ np.array(GRAY_WEIGHTS, np.float32)).clip(0, 255)
                a = a.astype(np.uint8)[:, :, None]
            xs.append(a)
            ys.append(k)
    if not xs:
        raise ValueError("%s: no pictures in LABEL/ folders" % root)
    return np.stack(xs), np.array(ys, dtype=np.int64), labels


class Progress:
    def __init__(self, quiet):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def bar(self, epoch, epochs, done, total, loss):
        if self.quiet or not self.tty:
            return
        n = 30 * done // max(total, 1)
        sys.stderr.write("\repoch %d/%d [%s%s] %d/%d loss %.4f " % (epoch, epochs, "#" * n, "." * (30 - n), done,
                                                                   total, loss))
        sys.stderr.flush()

    def line(self, text):
        if self.quiet:
            return
        sys.stderr.write(("\r" if self.tty else "") + text + "\n")
        sys.stderr.flush()


def evaluate(net, x, y, batch=512):
    """(accuracy, mean loss) of net on uint8 NHWC x."""
    net.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = net(to_tensor(x[i:i + batch]))
            t = torch.from_numpy(y[i:i + batch])
            loss += F.cross_entropy(logits, t, reduction="sum").item()
            correct += (logits.argmax(1) == t).sum().item()
    return correct / max(len(x), 1), loss / max(len(x), 1)


def train(x, y, classes, epochs=10, amplify=None, augment_lib=None, seed=0, val=0.2, patience=3, batch=64,
          lr=2e-3, width=16, threads=1, quiet=False):
    """Trains on uint8 NHWC x; returns (net, info). info: epochs run, best epoch, val accuracy, history."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_val = int(round(len(x) * val)) if len(x) > 1 else 0
    vi, ti = order[:n_val], order[n_val:]
    xt, yt, xv, yv = x[ti], y[ti], x[vi], y[vi]
    n, h, w, c = xt.shape
    aug = Augment(augment_lib or find_augment_lib(), amplify, w, h) if amplify else None
    net = Net(c, classes, width)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1))
    prog = Progress(quiet)
    best, best_state, best_epoch, bad, history = math.inf, None, 0, 0, []
    for e in range(epochs):
        net.train()
        xe = aug(xt, seed, e * n) if aug else xt
        perm = rng.permutation(n)
        total, seen = 0.0, 0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            logits = net(to_tensor(xe[idx]))
            loss = F.cross_entropy(logits, torch.from_numpy(yt[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            prog.bar(e + 1, epochs, seen, n, total / seen)
        sched.step()
        tr_loss = total / max(seen, 1)
        if n_val:
            acc, vloss = evaluate(net, xv, yv)
        else:
            acc, vloss = evaluate(net, xt, yt)
        history.append({"epoch": e + 1, "loss": round(tr_loss, 5), "val_loss": round(vloss, 5),
                        "val_accuracy": round(acc, 5)})
        prog.line("epoch %d/%d loss %.4f val_loss %.4f val_accuracy %.4f" % (e + 1, epochs, tr_loss, vloss, acc))
        if vloss < best - 1e-4:
            best, best_epoch, bad = vloss, e + 1, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
            if patience and bad >= patience:
                prog.line("early stop: no better validation loss for %d epochs (best: epoch %d)" % (patience,
                                                                                                    best_epoch))
                break
    if aug:
        aug.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    info = {"epochs_run": len(history), "best_epoch": best_epoch,
            "val_accuracy": next((h["val_accuracy"] for h in history if h["epoch"] == best_epoch), None),
            "train_images": int(n), "val_images": int(n_val), "history": history}
    return net, info


def export(net, path, labels, width, height, colour, meta):
    """model.onnx + model.json (vigil's manifest) + model.txt (labels)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.dirname(os.path.abspath(path))
    c = 1 if colour == "gray" else 3
    model = WithSoftmax(net).eval()
    dummy = torch.zeros(1, c, height, width)
    torch.onnx.export(model, dummy, path, input_names=["input"], output_names=["prob"], opset_version=13,
                      do_constant_folding=True)
    with open(os.path.join(folder, stem + ".txt"), "w") as f:
        f.write("".join(l + "\n" for l in labels))
    manifest = {
        "head": "classifier", "name": stem, "onnx": os.path.basename(path), "labels": stem + ".txt",
        "input": [width, height], "colour": colour, "mean": [MEAN], "scale": [SCALE], "resize": "stretch",
        "class_scores": "probability", "threshold": 0.0, "nms_iou": 0.0,
        "input_name": "input", "input_shape": [1, c, height, width], "layout": "NCHW",
        "outputs": [{"name": "prob", "shape": [1, len(labels)]}],
        "training": meta,
    }
    if colour == "gray":
        manifest["gray_weights"] = list(GRAY_WEIGHTS)
    with open(os.path.join(folder, stem + ".json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(prog="vigil train classifier",
                                 description="Train a small CNN classifier on DATASET/LABEL/*.jpg and export "
                                             "ONNX + manifest for vigil (cameras.X.classify).")
    ap.add_argument("dataset")
    ap.add_argument("-o", "--output", required=True, help="model.onnx (model.json and model.txt beside it)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--amplify", default=None, metavar="R",
                    help="augment recipe (text, file, or built-in: amplify, conditions, ...); default none")
    ap.add_argument("--input", default="64x64", help="WxH (default 64x64)")
    ap.add_argument("--colour", choices=("rgb", "gray"), default="rgb")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val", type=float, default=0.2, help="validation share (default 0.2)")
    ap.add_argument("--patience", type=int, default=4, help="early stop after N epochs without better "
                    "validation loss (0: never)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--state", default=None, metavar="FILE.pt",
                    help="also save PyTorch's weights (to compare runtimes on the same model)")
    ap.add_argument("--augment-lib", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        w, h = (int(v) for v in a.input.lower().split("x"))
        assert 8 <= w <= 1024 and 8 <= h <= 1024
    except (ValueError, AssertionError):
        ap.error("--input is WxH, 8..1024 each (e.g. 64x64)")
    if not (0 <= a.val < 1) or a.epochs < 1:
        ap.error("--val is 0..1 and --epochs >= 1")
    recipe = a.amplify
    if recipe and os.path.isfile(recipe):
        with open(recipe) as f:
            recipe = f.read()
    t0 = time.time()
    x, y, labels = load_imagefolder(a.dataset, w, h, a.colour)
    if len(labels) < 2:
        sys.exit("vigil train: %s has %d label folder(s); a classifier needs two or more" % (a.dataset,
                                                                                              len(labels)))
    if not a.quiet:
        sys.stderr.write("vigil train: %d pictures, %d labels (%s), input %dx%d %s\n"
                         % (len(x), len(labels), ", ".join(labels), w, h, a.colour))
    try:
        net, info = train(x, y, len(labels), epochs=a.epochs, amplify=recipe, augment_lib=a.augment_lib,
                          seed=a.seed, val=a.val, patience=a.patience, batch=a.batch, lr=a.lr,
                          threads=a.threads, quiet=a.quiet)
    except ValueError as e:
        sys.exit("vigil train: %s" % e)
    meta = dict(info, dataset=os.path.abspath(a.dataset), seed=a.seed, amplify=recipe, epochs=a.epochs,
                torch=torch.__version__)
    export(net, a.output, labels, w, h, a.colour, meta)
    if a.state:
        torch.save({"state": net.state_dict(), "channels": 1 if a.colour == "gray" else 3,
                    "classes": len(labels)}, a.state)
    if not a.quiet:
        sys.stderr.write("vigil train: %s (best epoch %d, validation accuracy %s) in %.0fs\n"
                         % (a.output, info["best_epoch"], info["val_accuracy"], time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
