#!/usr/bin/python3
"""The whole detection path against the original model (issue 4): on frames
of vtest.avi, what `vigil detect` reports (libavcodec decode -> fused tensor
prep from YUV -> vigil's engine -> C head + NMS, boxes in source pixels)
must equal what the TF.js model itself finds on the same letterboxed input:
vigil's own prepared tensor (`vigil detect --dump-input`) run by
@tensorflow/tfjs, decoded by the independent numpy decoder, and mapped back
with vigil's letterbox transform. Same label, IoU >= 0.9 and score within
0.02, for every TF.js detection scoring 0.40 or more (0.05 clear of the
threshold, where a tiny score change flips a box in or out).

    VIGIL_TFJS_DIR=$(models/convert/setup-tfjs.sh) \
    /usr/bin/python3 tests/test_fullpath_tfjs.py SOURCE_DIR BUILD_DIR
Prints one line per frame and "N passed, N failed".
"""
import json
import os
import subprocess
import sys

import numpy as np

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, 'models', 'convert'))
import compare  # noqa: E402
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


def vigil_dets(frame, work):
    os.makedirs(work, exist_ok=True)
    dump = os.path.join(work, 'input.npy')
    out = subprocess.run([os.path.join(BUILD, 'tools', 'vigil'), 'detect', VIDEO, '--frame', str(frame),
                          '--dump-input', dump], capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith('{')][-1]
    msg = json.loads(line)
    xform = [float(v) for v in open(dump + '.xform').read().split()]
    return msg['objects'], np.load(dump).reshape(MAN['input_shape']), xform, msg['width'], msg['height']


def tfjs_dets(x, xform, w, h, work):
    sx, sy, px, py = xform
    got = compare.run_tfjs(TFJS_MODEL, x, work, 'wasm')
    outs = [np.asarray(got[o['name']], np.float32) for o in MAN['outputs']]
    d = ref_decode.decode(outs, MAN, MAN['threshold'], MAN['nms_iou'])
    res = []
    for x1, y1, x2, y2, score, lab in d:
        box = [(x1 - px) / sx, (y1 - py) / sy, (x2 - px) / sx, (y2 - py) / sy]
        box = [min(max(v, 0), lim) for v, lim in zip(box, [w, h, w, h])]
        res.append({'label': LABELS[int(lab)], 'score': float(score), 'box': box})
    return res


def main():
    passed = failed = 0
    if MAN.get('tfjs_input_layout', 'NCHW') != 'NCHW':
        print('test_fullpath_tfjs: the nanodet TF.js model must take NCHW (it does in human-models 3.0.4)')
        return 1
    for f in FRAMES:
        work = os.path.join(BUILD, 'fullpath_tfjs', str(f))
        got, x, xform, w, h = vigil_dets(f, work)
        ref = [d for d in tfjs_dets(x, xform, w, h, work) if d['score'] >= MIN_SCORE]
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
