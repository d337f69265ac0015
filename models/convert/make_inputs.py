#!/usr/bin/python3
"""Makes model input tensors (.npy, the ONNX model's layout) from real video frames.

    /usr/bin/python3 make_inputs.py --manifest M.json --video V.avi --frames 100,400
        --out DIR [--resize stretch|letterbox] [--crop x,y,w,h]

Preprocessing follows the manifest (the way the model's own library feeds it):
colour (rgb / bgr / gray with its weights), mean and scale per channel, and a
stretch or letterbox resize (bilinear) to the model's input size. Writes
DIR/<model>_f<frame>.npy and prints the paths. --crop takes a region of the
frame first (e.g. a face for the expression model).
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np


def read_frames(video, frames):
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise RuntimeError(f'cannot open {video}')
    out, idx, want = {}, 0, sorted(set(frames))
    while want and idx <= want[-1]:
        ok, img = cap.read()
        if not ok:
            raise RuntimeError(f'{video}: frame {idx} missing (wanted {want})')
        if idx in want:
            out[idx] = img
        idx += 1
    return out


def letterbox_params(w, h, iw, ih):
    """scale and padding that fit a w x h image into iw x ih, centred."""
    s = min(iw / w, ih / h)
    nw, nh = int(round(w * s)), int(round(h * s))
    return s, nw, nh, (iw - nw) // 2, (ih - nh) // 2


def prepare(bgr, man, resize='stretch', pad=None):
    iw, ih = man['input']  # [w, h]
    h, w = bgr.shape[:2]
    if resize == 'stretch':
        img = cv2.resize(bgr, (iw, ih), interpolation=cv2.INTER_LINEAR)
    else:
        _, nw, nh, px, py = letterbox_params(w, h, iw, ih)
        img = np.full((ih, iw, 3), man.get('pad', 0) if pad is None else pad, np.uint8)
        img[py:py + nh, px:px + nw] = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    img = img.astype(np.float32)
    colour = man['colour']
    if colour == 'rgb':
        x = img[:, :, ::-1]
    elif colour == 'bgr':
        x = img
    elif colour == 'gray':
        wr, wg, wb = man.get('gray_weights', [0.299, 0.587, 0.114])
        x = (img[:, :, 2] * wr + img[:, :, 1] * wg + img[:, :, 0] * wb)[:, :, None]
    else:
        raise ValueError(f'colour {colour}')
    mean = np.array(man['mean'], np.float32)
    scale = np.array(man['scale'], np.float32)
    x = (x - mean) * scale
    if man['layout'] == 'NCHW':
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x[None], np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--manifest', required=True)
    ap.add_argument('--video', required=True)
    ap.add_argument('--frames', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--resize', default=None, choices=['stretch', 'letterbox'])
    ap.add_argument('--crop', default=None)
    a = ap.parse_args()
    man = json.load(open(a.manifest))
    frames = [int(f) for f in a.frames.split(',')]
    try:
        imgs = read_frames(a.video, frames)
    except RuntimeError as e:
        print(f'make_inputs: {e}', file=sys.stderr)
        return 1
    os.makedirs(a.out, exist_ok=True)
    for f in frames:
        img = imgs[f]
        if a.crop:
            x, y, w, h = [int(v) for v in a.crop.split(',')]
            img = img[y:y + h, x:x + w]
        t = prepare(img, man, a.resize or man.get('resize', 'stretch'))
        path = os.path.join(a.out, f"{man['name']}_f{f}.npy")
        np.save(path, t)
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
