#!/usr/bin/python3
"""Reference decoders in numpy, independent of vigil's C heads (models/heads).

    /usr/bin/python3 ref_decode.py --manifest M.json --threshold T --nms N OUT0.npy [OUT1.npy ...]

Decodes one image's raw outputs (in the manifest's output order) and prints
one line per detection, best first: "label score x1 y1 x2 y2" in model-input
pixels. nanodet: GFL softmax expectation x stride, centres (i + 0.5) * stride;
centernet: 3x3 peaks of the heat map, ltrb distances from (x, y) * stride;
blazeface: anchors on 16/32 grids (2 and 6 per cell), sigmoid scores, box
centre = anchor + (dx, dy), size (w, h) in pixels; classifier: top-1.
Per-class greedy NMS drops IoU > N. The tests compare the C decoders with it.
"""
import argparse
import json
import sys

import numpy as np


def iou(a, b):
    x1, y1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x2, y2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(ua, 1e-12)


def nms(d, thr):
    """d: rows (x1, y1, x2, y2, score, label); per-class greedy, best first."""
    out = []
    for lab in np.unique(d[:, 5]):
        c = d[d[:, 5] == lab]
        c = c[np.argsort(-c[:, 4], kind='stable')]
        while len(c):
            out.append(c[0])
            c = c[1:][iou(c[0], c[1:]) <= thr] if len(c) > 1 else c[:0]
    out = np.array(out, np.float64).reshape(-1, 6)
    return out[np.lexsort((out[:, 5], -out[:, 4]))]


def decode_nanodet(outs, man, thr):
    size_w = man['input'][0]  # [w, h]
    nb = man['reg_max'] + 1
    bins = np.arange(nb, dtype=np.float64)
    dets = []
    for i, s in enumerate(man['strides']):
        cls, reg = outs[2 * i][0].astype(np.float64), outs[2 * i + 1][0].astype(np.float64)
        gw = -(-size_w // s)
        for k, lab in zip(*np.nonzero(cls >= thr)):
            r = reg[k].reshape(4, nb)
            e = np.exp(r - r.max(1, keepdims=True))
            d = (e / e.sum(1, keepdims=True)) @ bins * s
            cx, cy = (k % gw + 0.5) * s, (k // gw + 0.5) * s
            dets.append([cx - d[0], cy - d[1], cx + d[2], cy + d[3], cls[k, lab], lab])
    return np.array(dets, np.float64).reshape(-1, 6)


def blazeface_anchors(man):
    a = man['anchors']
    size = man['input'][0]
    out = []
    for s, k in zip(a['strides'], a['per_cell']):
        g = -(-size // s)
        for y in range(g):
            for x in range(g):
                out += [((x + 0.5) * s, (y + 0.5) * s)] * k
    return np.array(out, np.float64)


def decode_blazeface(outs, man, thr):
    g = len(outs) // 2
    sc = np.concatenate([o[0, :, 0] for o in outs[:g]]).astype(np.float64)
    bx = np.concatenate([o[0] for o in outs[g:]]).astype(np.float64)
    p = 1 / (1 + np.exp(-np.clip(sc, -80, 80)))
    an = blazeface_anchors(man)
    dets = []
    for i in np.nonzero(p >= thr)[0]:
        cx, cy = an[i] + bx[i, :2]
        w, h = bx[i, 2], bx[i, 3]
        dets.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, p[i], 0])
    return np.array(dets, np.float64).reshape(-1, 6)


def decode_centernet(outs, man, thr):
    """heat map [1, C, H, W] + ltrb distances [1, 4, H, W]; peaks = 3x3 max-pool equality."""
    hm, d = outs[0][0].astype(np.float64), outs[1][0].astype(np.float64)
    s = man.get('output_stride', 4)
    c, h, w = hm.shape
    padded = np.full((c, h + 2, w + 2), -np.inf)
    padded[:, 1:-1, 1:-1] = hm
    mx = np.max([padded[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)
    dets = []
    for k, y, x in zip(*np.nonzero((hm >= thr) & (hm >= mx))):
        cx, cy = x * s, y * s
        dets.append([cx - d[0, y, x], cy - d[1, y, x], cx + d[2, y, x], cy + d[3, y, x], hm[k, y, x], k])
    return np.array(dets, np.float64).reshape(-1, 6)


def decode_classifier(outs, man, thr):
    p = outs[0].reshape(-1).astype(np.float64)
    k = int(np.argmax(p))
    if p[k] < thr:
        return np.zeros((0, 6))
    return np.array([[0, 0, man['input'][0], man['input'][1], p[k], k]], np.float64)


DECODERS = {'nanodet': decode_nanodet, 'blazeface': decode_blazeface, 'centernet': decode_centernet,
            'classifier': decode_classifier}


def decode(outs, man, thr, nms_iou):
    d = DECODERS[man['head']](outs, man, thr)
    d = d[(d[:, 2] > d[:, 0]) & (d[:, 3] > d[:, 1])]
    return nms(d, nms_iou) if nms_iou > 0 else d[np.lexsort((d[:, 5], -d[:, 4]))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--manifest', required=True)
    ap.add_argument('--threshold', type=float, required=True)
    ap.add_argument('--nms', type=float, default=0.0)
    ap.add_argument('outputs', nargs='+')
    a = ap.parse_args()
    man = json.load(open(a.manifest))
    outs = [np.load(f) for f in a.outputs]
    for d in decode(outs, man, a.threshold, a.nms):
        print(f'{int(d[5])} {d[4]:.6f} {d[0]:.4f} {d[1]:.4f} {d[2]:.4f} {d[3]:.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
