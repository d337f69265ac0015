#!/usr/bin/python3
"""Which preprocessing suits nanodet on a clip: stretch or letterbox?

    /usr/bin/python3 eval_preproc.py --manifest nanodet.json --onnx nanodet.onnx
        --video vtest.avi [--every 40] [--threshold 0.35] [--annotate DIR]

Runs the converted model (OpenCV DNN) on every N-th frame with both resizes,
decodes with the original NanoDet GFL rule (softmax expectation of the 11
bins times the stride, centres at (i + 0.5) * stride), per-class NMS at IoU
0.6, maps boxes back to frame pixels, and prints per mode: detections per
frame by label, mean score of persons, and how many persons one mode finds
that the other misses (IoU < 0.5 with every box of the other mode).
This is an evaluation tool, not part of the daemon (which decodes in C,
models/heads/).
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_inputs import letterbox_params, prepare  # noqa: E402


def decode(outs, strides, size, reg_max, thr):
    dets = []
    bins = np.arange(reg_max + 1, dtype=np.float32)
    for i, s in enumerate(strides):
        cls, reg = outs[2 * i][0], outs[2 * i + 1][0]
        w = size // s
        n = cls.shape[0]
        lab = cls.argmax(1)
        sc = cls[np.arange(n), lab]
        keep = np.nonzero(sc > thr)[0]
        for k in keep:
            r = reg[k].reshape(4, reg_max + 1)
            e = np.exp(r - r.max(1, keepdims=True))
            d = (e / e.sum(1, keepdims=True)) @ bins * s
            cx, cy = (k % w + 0.5) * s, (k // w + 0.5) * s
            dets.append([cx - d[0], cy - d[1], cx + d[2], cy + d[3], sc[k], lab[k]])
    return np.array(dets, np.float32).reshape(-1, 6)


def iou(a, b):
    x1, y1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x2, y2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(ua, 1e-9)


def nms(d, thr=0.6):
    out = []
    for lab in np.unique(d[:, 5]):
        c = d[d[:, 5] == lab]
        c = c[np.argsort(-c[:, 4], kind='stable')]
        while len(c):
            out.append(c[0])
            c = c[1:][iou(c[0], c[1:]) < thr] if len(c) > 1 else c[:0]
    return np.array(out, np.float32).reshape(-1, 6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--manifest', required=True)
    ap.add_argument('--onnx', required=True)
    ap.add_argument('--video', required=True)
    ap.add_argument('--every', type=int, default=40)
    ap.add_argument('--threshold', type=float, default=0.35)
    ap.add_argument('--annotate')
    ap.add_argument('--labels')
    ap.add_argument('--pad', type=int, default=None, help='letterbox border pixel value (default: manifest)')
    a = ap.parse_args()
    man = json.load(open(a.manifest))
    labels = open(a.labels).read().split('\n') if a.labels else [str(i) for i in range(80)]
    net = cv2.dnn.readNetFromONNX(a.onnx)
    names = [o['name'] for o in man['outputs']]
    size = man['input'][0]
    cap = cv2.VideoCapture(a.video)
    stats = {m: {'n': 0, 'person': [], 'labels': {}} for m in ('stretch', 'letterbox')}
    only = {'stretch': 0, 'letterbox': 0}
    idx = frames = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if idx % a.every:
            idx += 1
            continue
        h, w = img.shape[:2]
        res = {}
        for mode in ('stretch', 'letterbox'):
            net.setInput(prepare(img, man, mode, a.pad))
            d = nms(decode(net.forward(names), man['strides'], size, man['reg_max'], a.threshold))
            if mode == 'stretch':
                d[:, [0, 2]] *= w / size
                d[:, [1, 3]] *= h / size
            else:
                s, _, _, px, py = letterbox_params(w, h, size, size)
                d[:, [0, 2]] = (d[:, [0, 2]] - px) / s
                d[:, [1, 3]] = (d[:, [1, 3]] - py) / s
            res[mode] = d
            st = stats[mode]
            st['n'] += len(d)
            for det in d:
                lab = labels[int(det[5])]
                st['labels'][lab] = st['labels'].get(lab, 0) + 1
                if int(det[5]) == 0:
                    st['person'].append(float(det[4]))
            if a.annotate:
                out = img.copy()
                for det in d:
                    x1, y1, x2, y2 = [int(v) for v in det[:4]]
                    cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), 1)
                    cv2.putText(out, f'{labels[int(det[5])]} {det[4]:.2f}', (x1, max(y1 - 3, 8)),
                                cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 0), 1)
                os.makedirs(a.annotate, exist_ok=True)
                cv2.imwrite(os.path.join(a.annotate, f'{mode}_{idx}.jpg'), out)
        for m, o in (('stretch', 'letterbox'), ('letterbox', 'stretch')):
            pa, pb = res[m][res[m][:, 5] == 0], res[o][res[o][:, 5] == 0]
            for det in pa:
                if len(pb) == 0 or iou(det, pb).max() < 0.5:
                    only[m] += 1
        frames += 1
        idx += 1
    for m, st in stats.items():
        ps = st['person']
        top = sorted(st['labels'].items(), key=lambda kv: -kv[1])[:5]
        print(f'{m:9s}: {frames} frames, {st["n"] / frames:.2f} detections/frame, persons {len(ps) / frames:.2f}/frame '
              f'mean score {np.mean(ps) if ps else 0:.3f}; found only by this mode: {only[m]}; labels {top}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
