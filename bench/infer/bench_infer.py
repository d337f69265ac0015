#!/usr/bin/python3
"""vigil inference engine vs OpenCV DNN vs PyTorch on the same ONNX files.

usage: bench/infer/run.sh [BUILD_DIR] [--runs N] [--models a,b]
For each model, batch 1 and 4, 1 and 2 threads: median ms of vigil fp32,
vigil bf16, OpenCV DNN (cv2.dnn, its default CPU backend) and PyTorch
(torch.jit.trace + torch.jit.optimize_for_inference), the ratios, and vigil's
GFLOP/s (2 x MACs of the convolutions and matrix products / time).
Models: torchvision mobilenet_v2 and resnet18 (seeded random weights), a
YOLOv5s-sized detector at 640 and a NanoDet-like net at 416 (both from
tests/engine/make_fixtures.py), and the converted TF.js NanoDet from the cache
when present (no PyTorch model for it). Not a test: figures depend on load.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import numpy as np
import torch
import cv2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "engine"))
import make_fixtures as mf  # noqa: E402


def export(module, path, shape, opset):
    module.eval()
    x = torch.rand(*shape)
    with torch.no_grad():
        torch.onnx.export(module, (x,), path, opset_version=opset, input_names=["x"], output_names=["y"],
                          do_constant_folding=True)
    return module


def make_models(out, names):
    import torchvision
    os.makedirs(out, exist_ok=True)
    models = []
    gen = torch.Generator().manual_seed(1)
    # OpenCV 4.6 cannot import Clip with min/max inputs (opset >= 11), so the
    # torchvision nets and the YOLO-style detector are exported at opset 10;
    # the NanoDet-like net needs Resize-11 (half-pixel bilinear). One file per
    # batch size, used by all three runtimes.
    specs = [
        ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(weights=None), 224, 10),
        ("resnet18", lambda: torchvision.models.resnet18(weights=None), 224, 10),
        ("yolov5s_640", lambda: mf.TinyYolo(w=64), 640, 10),
        ("nanodet_like", lambda: mf.NanoDetLike(), 416, 11),
    ]
    for name, ctor, size, opset in specs:
        if names and name not in names:
            continue
        torch.manual_seed(1)
        m = ctor()
        mf.set_bn_stats(m, gen)
        paths = {}
        for b in (1, 4):
            paths[b] = os.path.join(out, "%s.b%d.onnx" % (name, b))
            export(m, paths[b], (b, 3, size, size), opset)
        models.append((name, paths, m, size))
    cache = os.path.join(os.environ.get("VIGIL_CACHE_DIR", os.path.expanduser("~/.cache/vigil")), "models", "nanodet.onnx")
    if os.path.exists(cache) and (not names or "nanodet" in names):
        # the conversion has a fixed batch of 1; vigil re-plans it for batch 4
        models.append(("nanodet", {1: cache, 4: cache}, None, 416))
    return models


def vigil(vg, path, batch, threads, prec, runs):
    cmd = [vg, "check", path, "--batch", str(batch), "--threads", str(threads), "--precision", prec, "--runs", str(runs)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    if p.returncode != 0:
        return None, None, (p.stderr.strip().splitlines() or ["failed"])[-1]
    med = float(re.search(r"median ([\d.]+) ms", p.stdout).group(1))
    gmac = float(re.search(r"([\d.]+) GMAC per run", p.stdout).group(1))
    kern = re.search(r"kernels: (.*)", p.stdout).group(1)
    return med, gmac, kern


def timeit(fn, runs):
    fn()
    fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def opencv(path, batch, threads, size, runs):
    try:
        cv2.setNumThreads(threads)
        net = cv2.dnn.readNetFromONNX(path)
        x = np.random.default_rng(0).random((batch, 3, size, size), dtype=np.float32)
        outs = net.getUnconnectedOutLayersNames()

        def run():
            net.setInput(x)
            net.forward(outs)
        return timeit(run, runs)
    except cv2.error as e:
        return None


def pytorch(module, batch, threads, size, runs):
    if module is None:
        return None
    torch.set_num_threads(threads)
    x = torch.rand(batch, 3, size, size)
    with torch.no_grad():
        tr = torch.jit.optimize_for_inference(torch.jit.trace(module.eval(), x))
        return timeit(lambda: tr(x), runs)


def isolated(kind, path, batch, threads, size, runs, name):
    """Runs one OpenCV or PyTorch measurement in a child process, so that a
    crash or a stall of one runtime costs one cell, not the whole table."""
    cmd = [sys.executable, os.path.abspath(__file__), "--one", kind, path, str(batch), str(threads), str(size),
           str(runs), name]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"^median ([\d.]+)$", p.stdout, re.M)
    return float(m.group(1)) if m else None


def one(kind, path, batch, threads, size, runs, name):
    batch, threads, size, runs = int(batch), int(threads), int(size), int(runs)
    if kind == "opencv":
        r = opencv(path, batch, threads, size, runs)
    else:
        import torchvision
        gen = torch.Generator().manual_seed(1)
        ctor = {"mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
                "resnet18": lambda: torchvision.models.resnet18(weights=None),
                "yolov5s_640": lambda: mf.TinyYolo(w=64), "nanodet_like": lambda: mf.NanoDetLike()}[name]
        torch.manual_seed(1)
        m = ctor()
        mf.set_bn_stats(m, gen)
        r = pytorch(m, batch, threads, size, runs)
    if r is not None:
        print("median %.4f" % r)


def fmt(x, w=7, p=2):
    return ("%*.*f" % (w, p, x)) if x is not None else "%*s" % (w, "n/a")


def ratio(a, b):
    return "%5.2fx" % (a / b) if a and b else "  n/a "


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        return one(*sys.argv[2:9])
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--models", default="")
    a = ap.parse_args()
    vg = os.path.join(a.build, "models", "engine", "vg-models")
    if not os.access(vg, os.X_OK):
        sys.exit("no %s: build the vg-models target first" % vg)
    out = os.path.join(a.build, "bench-infer")
    names = [n for n in a.models.split(",") if n]
    models = make_models(out, names)
    print("vigil engine vs OpenCV DNN %s vs PyTorch %s (traced, optimize_for_inference); median of %d runs, ms"
          % (cv2.__version__, torch.__version__, a.runs))
    print("%-13s %2s %2s | %7s %7s %7s %7s | %6s %6s %6s | %6s %6s" %
          ("model", "b", "t", "fp32", "bf16", "opencv", "torch", "cv/vg", "pt/vg", "bf16x", "GF/s", "GF/s16"))
    kernels = {}
    for name, paths, module, size in models:
        for batch in (1, 4):
            path = paths[batch]
            for threads in (1, 2):
                f32, gmac, k32 = vigil(vg, path, batch, threads, "fp32", a.runs)
                b16, _, k16 = vigil(vg, path, batch, threads, "bf16", a.runs)
                cvm = isolated("opencv", path, batch, threads, size, max(5, a.runs // 2), name)
                ptm = isolated("torch", path, batch, threads, size, max(5, a.runs // 2), name) if module else None
                if batch == 1 and threads == 1:
                    kernels[name] = (k32, k16)
                gf = 2e3 * gmac / f32 if f32 else None
                gf16 = 2e3 * gmac / b16 if b16 and gmac else None
                print("%-13s %2d %2d | %s %s %s %s | %s %s %s | %s %s" % (
                    name, batch, threads, fmt(f32), fmt(b16), fmt(cvm), fmt(ptm),
                    ratio(cvm, f32), ratio(ptm, f32), ratio(f32, b16), fmt(gf, 6, 1), fmt(gf16, 6, 1)), flush=True)
                if f32 is None:
                    print("    vigil: %s" % k32)
    print("\noneDNN implementations chosen (batch 1, 1 thread):")
    for name, (k32, k16) in kernels.items():
        print("  %-13s fp32: %s\n  %-13s bf16: %s" % (name, k32, "", k16))
    print("\nanchors: oneDNN conv 3x3 64->64 @104^2: 205 GFLOP/s fp32, 1560 bf16 (1 core); goals at 1 thread:"
          " mobilenet_v2 <= 7 ms and >= 1.2x PyTorch, >= 2.5x OpenCV; resnet18 >= 143 GFLOP/s; bf16 >= 3x fp32 on the detector")


if __name__ == "__main__":
    main()
