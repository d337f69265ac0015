#!/usr/bin/python3
"""vigil train classifier end to end, on crops vigil dataset export takes
from vtest.avi with the real detector: the trainer runs (a few epochs, 32x32
input, seconds), its result is reproducible from the seed, amplification
through ctypes changes what is learnt, the exported model loads in vigil's
engine (`vigil models check`) and `vigil models run` matches PyTorch within
1e-4 on real crops and on noise, and the manifest is one vigil reads.
usage: test_train.py VIGIL WORKDIR
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

vigil, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import train_classifier as tc  # noqa: E402

cache = os.environ.get("VIGIL_CACHE_DIR", os.path.expanduser("~/.cache/vigil"))
clip = os.path.join(cache, "footage", "vtest.avi")
ds = os.path.join(work, "ds")
subprocess.run([vigil, "dataset", "export", "--out", ds, "--from-video", clip, "--every", "10",
               "--max-frames", "30", "--min-score", "0.3"], check=True)
labels = sorted(os.listdir(ds))
assert "person" in labels and len([l for l in labels if os.path.isdir(os.path.join(ds, l))]) >= 2, labels


def train(name, *extra):
    out = os.path.join(work, name + ".onnx")
    r = subprocess.run([vigil, "train", "classifier", ds, "-o", out, "--epochs", "3", "--input", "32x32",
                        "--state", os.path.join(work, name + ".pt"), *extra], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "epoch 3/3" in r.stderr or "early stop" in r.stderr, r.stderr
    return out


def digest(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


a = train("a", "--seed", "1", "--amplify", "amplify")
b = train("b", "--seed", "1", "--amplify", "amplify")
c = train("c", "--seed", "1")
d = train("d", "--seed", "2", "--amplify", "amplify")
assert digest(a) == digest(b), "same seed, same data: different models"
assert digest(a) != digest(c), "amplification changed nothing"
assert digest(a) != digest(d), "another seed gave the same model"

m = json.load(open(os.path.join(work, "a.json")))
assert m["head"] == "classifier" and m["input"] == [32, 32] and m["labels"] == "a.txt"
assert open(os.path.join(work, "a.txt")).read().split() == [l for l in labels if os.path.isdir(os.path.join(ds, l))]
assert m["training"]["seed"] == 1 and m["training"]["epochs_run"] >= 1

r = subprocess.run([vigil, "models", "check", a], capture_output=True, text=True)
assert r.returncode == 0, r.stdout + r.stderr

# PyTorch vs vigil's engine on the same inputs: 6 real crops and 2 of noise
x, y, names = tc.load_imagefolder(ds, 32, 32, "rgb")
pick = np.concatenate([np.flatnonzero(y == k)[:3] for k in range(len(names))])[:6]
rng = np.random.default_rng(0)
batch = np.concatenate([x[pick], rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)])
inp = tc.to_tensor(batch)
saved = torch.load(os.path.join(work, "a.pt"))
net = tc.Net(saved["channels"], saved["classes"])
net.load_state_dict(saved["state"])
net.eval()
with torch.no_grad():
    want = torch.softmax(net(inp), 1).numpy()
np.save(os.path.join(work, "in.npy"), inp.numpy())
r = subprocess.run([vigil, "models", "run", a, "--batch", str(len(batch)), "--input", os.path.join(work, "in.npy"),
                    "--output", os.path.join(work, "out.npy")], capture_output=True, text=True)
assert r.returncode == 0, r.stdout + r.stderr
got = np.load(os.path.join(work, "out.npy")).reshape(want.shape)
err = float(np.abs(got - want).max())
assert err < 1e-4, "vigil's engine and PyTorch differ by %g" % err
assert np.allclose(got.sum(1), 1, atol=1e-5)
print("train: reproducible, amplification used, engine matches PyTorch (max diff %.2g)" % err)
