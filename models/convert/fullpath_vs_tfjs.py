#!/usr/bin/python3
"""The whole detection path against the original model (issue 4): on frames
of vtest.avi, what `vigil detect` reports (libavcodec decode -> fused tensor
prep from YUV -> vigil's engine -> C head + NMS, boxes in source pixels)
must equal what the TF.js model itself finds on the same letterboxed frame
(OpenCV decode -> letterbox -> @tensorflow/tfjs -> numpy decoder): same
label, IoU >= 0.9, score within 0.02, for every TF.js detection scoring
0.40 or more (0.05 clear of the threshold, where a score 0.01 apart would
flip a box in or out).

    VIGIL_TFJS_DIR=$(models/convert/setup-tfjs.sh) \
    /usr/bin/python3 models/convert/fullpath_vs_tfjs.py SOURCE_DIR BUILD_DIR

A diagnostic, not yet a ctest test: the TF.js side is fed OpenCV's decode
and cv2.resize letterbox, not vigil's own prepared tensor, and that
preprocessing difference alone moves some scores by up to 0.027 (measured
2026-11-25: 12 of 15 detections within the bar on frames 100/400/700). The
test the issue asks for feeds TF.js the tensor vigil prepared; that needs
`vigil detect --dump-input`. Prints per-frame results.
"""
import json
import os
import subprocess
import sys

import numpy as np

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, 'models', 'convert'))
import compare  # noqa: E402
import make_inputs  # noqa: E402
import ref_decode  # noqa: E402

CACHE = os.environ.get('VIGIL_CACHE_DIR') or os.path.expanduser('~/.cache/vigil')
VIDEO = os.path.join(CACHE, 'footage', 'vtest.avi')
MAN = json.load(open(os.path.join(CACHE, 'models', 'nanodet.json')))
TFJS_MODEL = os.path.join(CACHE, 'npm', 'human-models-3.0.4', 'models', 'nanodet.json')
LABELS = [l.strip() for l in open(os.path.join(SRC, 'models', 'labels', 'coco80.txt')) if l.strip()]
FRAMES = [100, 400, 700]
MIN_SCORE = 0.40


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def vigil_dets(frame):
    out = subprocess.run([os.path.join(BUILD, 'tools', 'vigil'), 'detect', VIDEO, '--frame', str(frame)],
                         capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith('{')][-1]
    return json.loads(line)['objects']


def tfjs_dets(bgr, work):
    h, w = bgr.shape[:2]
    iw, ih = MAN['input']
    s, nw, nh, px, py = make_inputs.letterbox_params(w, h, iw, ih)
    x = make_inputs.prepare(bgr, MAN, 'letterbox')
    got = compare.run_tfjs(TFJS_MODEL, x, work, 'wasm')
    outs = [np.asarray(got[o['name']], np.float32) for o in MAN['outputs']]
    d = ref_decode.decode(outs, MAN, MAN['threshold'], MAN['nms_iou'])
    res = []
    for x1, y1, x2, y2, score, lab in d:
        box = [(x1 - px) / s, (y1 - py) / s, (x2 - px) / s, (y2 - py) / s]
        box = [min(max(v, 0), lim) for v, lim in zip(box, [w, h, w, h])]
        res.append({'label': LABELS[int(lab)], 'score': float(score), 'box': box})
    return res


def main():
    frames = make_inputs.read_frames(VIDEO, FRAMES)
    passed = failed = 0
    for f in FRAMES:
        ref = [d for d in tfjs_dets(frames[f], os.path.join(BUILD, 'fullpath_tfjs', str(f))) if d['score'] >= MIN_SCORE]
        got = vigil_dets(f)
        bad = []
        for r in ref:
            best = max((iou(r['box'], g['box']) if g['label'] == r['label'] else 0.0, g['score']) for g in got) \
                if got else (0.0, 0.0)
            if best[0] < 0.9 or abs(best[1] - r['score']) > 0.02:
                bad.append(f"{r['label']} {r['score']:.3f} {[round(v) for v in r['box']]}: best IoU {best[0]:.3f}, "
                           f"vigil score {best[1]:.3f}")
        ok = not bad and len(ref) > 0
        print(f"frame {f}: {len(ref)} TF.js detections >= {MIN_SCORE}, vigil {len(got)}: {'ok' if ok else 'FAIL'}")
        for b in bad:
            print('   ', b)
        passed += ok
        failed += not ok
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
