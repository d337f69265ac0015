#!/usr/bin/python3
"""OpenCV DNN on the same ONNX and video as bench_detect: cv2.VideoCapture
decode (FFmpeg, one thread) -> letterbox/stretch, colour, mean/scale from the
model's manifest (cv2.dnn.blobFromImage) -> net.forward of every output,
cv2.setNumThreads(1). OpenCV has no decoder for the model's head, so its
figures stop at the raw outputs (vigil's include the head and NMS).
Prints one JSON line like bench_detect.
usage: opencv_ref.py VIDEO MODEL.onnx [--frames N] [--warmup N]
"""
import argparse
import json
import os
import time

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "threads;1")
import cv2  # noqa: E402
import numpy as np  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("video")
ap.add_argument("onnx")
ap.add_argument("--frames", type=int, default=200)
ap.add_argument("--warmup", type=int, default=5)
a = ap.parse_args()

cv2.setNumThreads(1)
man = json.load(open(os.path.splitext(a.onnx)[0] + ".json"))
iw, ih = man["input"]
net = cv2.dnn.readNetFromONNX(a.onnx)
outs = net.getUnconnectedOutLayersNames()
scale = man["scale"][0]
mean = tuple(man["mean"]) if len(man["mean"]) == 3 else (man["mean"][0],) * 3
letterbox = man.get("resize") == "letterbox"
rgb = man.get("colour", "rgb") == "rgb"
canvas = np.zeros((ih, iw, 3), np.uint8)


def prep(img):
    if letterbox:
        h, w = img.shape[:2]
        s = min(iw / w, ih / h)
        nw, nh = int(round(w * s)), int(round(h * s))
        canvas[:] = int(man.get("pad", 0))
        x, y = (iw - nw) // 2, (ih - nh) // 2
        canvas[y:y + nh, x:x + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        img = canvas
        return cv2.dnn.blobFromImage(img, scale, (iw, ih), mean, swapRB=rgb)
    return cv2.dnn.blobFromImage(img, scale, (iw, ih), mean, swapRB=rgb)


cap = cv2.VideoCapture(a.video, cv2.CAP_FFMPEG)
total, infer = [], []
seen = 0
t_start = None
t0 = time.perf_counter()
while len(total) < a.frames:
    ok, frame = cap.read()
    if not ok:
        break
    blob = prep(frame)
    t1 = time.perf_counter()
    net.setInput(blob)
    net.forward(outs)
    t2 = time.perf_counter()
    if seen >= a.warmup:
        if t_start is None:
            t_start = t0
        total.append((t2 - t0) * 1e3)
        infer.append((t2 - t1) * 1e3)
    seen += 1
    t0 = time.perf_counter()
wall = time.perf_counter() - t_start
h, w = frame.shape[:2] if frame is not None else (0, 0)


def p(v, q):
    return float(np.percentile(v, q, method="nearest"))


print(json.dumps({"frames": len(total), "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                  "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), "fps": round(len(total) / wall, 2),
                  "total_ms": [round(p(total, q), 2) for q in (50, 95, 99)],
                  "forward_ms": [round(p(infer, q), 2) for q in (50, 95, 99)]}))
