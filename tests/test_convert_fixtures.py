#!/usr/bin/python3
"""Fixture for the heads_real tests (tests/test_heads.c): real images through
the converted models, and what an independent numpy decoder makes of them.

    /usr/bin/python3 test_convert_fixtures.py SOURCE_DIR OUT_DIR [VG_MODELS_EXE]

Cases (the numbers are all that is committed):
  nanodet_f100/400/700   vtest.avi frames, letterboxed to 416
  centernet_f100/400/700 the same frames, letterboxed to 512; expected_tfjs.txt
                         holds what the model's own TF.js decoder finds
  blazeface_q0..q3       the four faces of opencv-doc's facereg.jpg (2x2 grid)
  emotion_q0..q3         those faces, cropped at the face box found by the
                         numpy decoder, through the expression model
For each case OUT_DIR/<case>/ gets out0.npy.. (the model's raw outputs, run
by vigil's engine when VG_MODELS_EXE is given, else OpenCV DNN) and
expected.txt (ref_decode.py's detections); OUT_DIR/cases.txt lists
"<case> <manifest> <n_outputs>".
"""
import os
import subprocess
import sys

import cv2
import numpy as np

SRC = sys.argv[1]
OUT = sys.argv[2]
EXE = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
sys.path.insert(0, os.path.join(SRC, 'models', 'convert'))
import compare  # noqa: E402
import json  # noqa: E402
import make_inputs  # noqa: E402
import ref_decode  # noqa: E402

CACHE = os.environ.get('VIGIL_CACHE_DIR') or os.path.expanduser('~/.cache/vigil')
MODELS = os.path.join(CACHE, 'models')
FRAMES = [100, 400, 700]


def fetch_faces():
    """facereg.jpg (four faces) from Debian's opencv-doc, into the cache."""
    dst = os.path.join(CACHE, 'images', 'facereg.jpg')
    if os.path.exists(dst):
        return dst
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    work = os.path.join(OUT, 'opencv-doc')
    os.makedirs(work, exist_ok=True)
    if subprocess.run(['apt-get', 'download', 'opencv-doc'], cwd=work, capture_output=True).returncode != 0:
        subprocess.run(['apt-get', 'update', '-qq'], capture_output=True)
        if subprocess.run(['apt-get', 'download', 'opencv-doc'], cwd=work, capture_output=True).returncode != 0:
            sys.exit("test_convert_fixtures: cannot download Debian package 'opencv-doc'")
    deb = next(f for f in os.listdir(work) if f.endswith('.deb'))
    subprocess.run(['dpkg-deb', '-x', deb, 'x'], cwd=work, check=True)
    for root, _, files in os.walk(os.path.join(work, 'x')):
        if 'facereg.jpg' in files:
            os.replace(os.path.join(root, 'facereg.jpg'), dst)
            return dst
    sys.exit("test_convert_fixtures: facereg.jpg not found in opencv-doc")


def tfjs_models():
    ver = None
    for line in open(os.path.join(SRC, 'scripts', 'fetch-models.sh')):
        if line.startswith('HUMAN_MODELS_VERSION='):
            ver = line.split('"')[1]
    return os.path.join(CACHE, 'npm', f'human-models-{ver}', 'models')


def run(model, x):
    man = json.load(open(os.path.join(MODELS, model + '.json')))
    names = [o['name'] for o in man['outputs']]
    onnx = os.path.join(MODELS, model + '.onnx')
    if EXE:
        work = os.path.join(OUT, 'run')
        os.makedirs(work, exist_ok=True)
        got = compare.run_vg_models(EXE, onnx, x, names, work)
    else:
        got = compare.run_opencv(onnx, x, names)
    return man, [np.asarray(got[n], np.float32) for n in names]


def save_case(case, model, man, outs, thr, nms, cases):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    for i, o in enumerate(outs):
        np.save(os.path.join(d, f'out{i}.npy'), o)
    dets = ref_decode.decode(outs, man, thr, nms)
    with open(os.path.join(d, 'expected.txt'), 'w') as f:
        for r in dets:
            f.write(f'{int(r[5])} {r[4]:.6f} {r[0]:.4f} {r[1]:.4f} {r[2]:.4f} {r[3]:.4f}\n')
    cases.append(f'{case} {os.path.join(MODELS, model + ".json")} {len(outs)}')
    return dets


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    video = os.path.join(CACHE, 'footage', 'vtest.avi')
    nd = json.load(open(os.path.join(MODELS, 'nanodet.json')))
    frames = make_inputs.read_frames(video, FRAMES)
    for f in FRAMES:
        man, outs = run('nanodet', make_inputs.prepare(frames[f], nd, 'letterbox'))
        dets = save_case(f'nanodet_f{f}', 'nanodet', man, outs, man['threshold'], man['nms_iou'], cases)
        print(f'nanodet frame {f}: {len(dets)} detections, {int((dets[:, 5] == 0).sum())} persons')

    # CenterNet: also what the model's own in-graph decoder (TopK over 3x3
    # peaks, TF.js) finds, to hold the C head against the model's authors
    cn = json.load(open(os.path.join(MODELS, 'centernet.json')))
    for f in FRAMES:
        x = make_inputs.prepare(frames[f], cn, 'letterbox')
        man, outs = run('centernet', x)
        dets = save_case(f'centernet_f{f}', 'centernet', man, outs, man['threshold'], man['nms_iou'], cases)
        ref = compare.run_tfjs(os.path.join(tfjs_models(), 'centernet.json'), x.transpose(0, 2, 3, 1),
                               os.path.join(OUT, 'tfjs', f'centernet_f{f}'), 'wasm', ['tower_0/detections'])
        det = ref['tower_0_detections'][0]  # [100, 6]: x1 y1 x2 y2 score class
        det = det[det[:, 4] >= man['threshold']]
        with open(os.path.join(OUT, f'centernet_f{f}', 'expected_tfjs.txt'), 'w') as fh:
            for r in det:
                fh.write(f'{int(r[5])} {r[4]:.6f} {r[0]:.4f} {r[1]:.4f} {r[2]:.4f} {r[3]:.4f}\n')
        print(f'centernet frame {f}: {len(dets)} detections after NMS, {int((dets[:, 5] == 0).sum())} persons; '
              f'TF.js in-graph decoder: {len(det)} above {man["threshold"]}')

    img = cv2.imread(fetch_faces())
    h, w = img.shape[:2]
    bf = json.load(open(os.path.join(MODELS, 'blazeface.json')))
    for q in range(4):
        qy, qx = divmod(q, 2)
        quad = img[qy * h // 2:(qy + 1) * h // 2, qx * w // 2:(qx + 1) * w // 2]
        man, outs = run('blazeface', make_inputs.prepare(quad, bf, 'stretch'))
        dets = save_case(f'blazeface_q{q}', 'blazeface', man, outs, man['threshold'], man['nms_iou'], cases)
        if len(dets) == 0:
            print(f'blazeface quadrant {q}: no face')
            continue
        x1, y1, x2, y2 = dets[0][:4]
        sx, sy = quad.shape[1] / bf['input'][0], quad.shape[0] / bf['input'][1]
        face = quad[max(int(y1 * sy), 0):int(y2 * sy), max(int(x1 * sx), 0):int(x2 * sx)]
        em = json.load(open(os.path.join(MODELS, 'emotion.json')))
        man, outs = run('emotion', make_inputs.prepare(face, em, 'stretch'))
        e = save_case(f'emotion_q{q}', 'emotion', man, outs, man['threshold'], man['nms_iou'], cases)
        print(f'blazeface quadrant {q}: {len(dets)} face(s), best {dets[0][4]:.3f}; emotion top-1 {int(e[0][5])} '
              f'{e[0][4]:.3f}')
    with open(os.path.join(OUT, 'cases.txt'), 'w') as f:
        f.write('\n'.join(cases) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
