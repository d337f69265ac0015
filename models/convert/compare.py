#!/usr/bin/python3
"""Compares a converted ONNX model with the original TF.js model on real inputs.

    /usr/bin/python3 compare.py --manifest M.json --onnx M.onnx --tfjs-model M.tfjs.json
        --runner opencv|vg-models[=PATH] --work DIR [--tol 1e-3] IN0.npy [IN1.npy ...]

Each IN*.npy is one input tensor in the ONNX model's layout (NCHW for image
models). For every input the script

  1. runs TF.js (models/convert/tfjs_run.js under node, wasm backend) on the
     same tensor transposed to the TF.js model's own layout;
  2. runs the ONNX model with the chosen runner: OpenCV DNN (cv2.dnn) or
     vigil's engine (`vg-models run FILE.onnx --input IN.npy --output O.npy ...`);
  3. checks max |onnx - tfjs| <= tol * max |tfjs| for every output.

It prints one line per input and output with the errors it measured, and
exits 1 if any output is off (or a runner failed), 0 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run_tfjs(model_json, x_tfjs, work, backend, outputs=None):
    os.makedirs(work, exist_ok=True)
    inp = os.path.join(work, 'tfjs_in.npy')
    np.save(inp, np.ascontiguousarray(x_tfjs, np.float32))
    out_dir = os.path.join(work, 'tfjs_out')
    cmd = ['node', os.path.join(HERE, 'tfjs_run.js'), '--backend', backend]
    if outputs:
        cmd += ['--outputs', ','.join(outputs)]
    cmd += [model_json, out_dir, inp]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'tfjs_run failed ({r.returncode}): {r.stderr.strip()}')
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir) if f.endswith('.npy')}


def run_opencv(onnx_path, x, names):
    import cv2
    net = cv2.dnn.readNetFromONNX(onnx_path)
    net.setInput(x)
    outs = net.forward(names)
    return dict(zip(names, outs))


def run_vg_models(exe, onnx_path, x, names, work):
    """vigil's engine CLI: `vg-models run M.onnx --input IN.npy --output O0.npy --output O1.npy ...`
    (one --output per graph output, in graph-output order)."""
    inp = os.path.join(work, 'onnx_in.npy')
    np.save(inp, np.ascontiguousarray(x, np.float32))
    outs = [os.path.join(work, f"onnx_out.{n.replace('/', '_')}.npy") for n in names]
    for o in outs:
        if os.path.exists(o):
            os.unlink(o)
    cmd = [exe, 'run', onnx_path, '--input', inp]
    for o in outs:
        cmd += ['--output', o]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f'vg-models run failed ({r.returncode}): {r.stderr.strip()}')
    res = {}
    for n, o in zip(names, outs):
        if not os.path.exists(o):
            raise RuntimeError(f'vg-models wrote no {o}')
        res[n] = np.load(o)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--manifest', required=True)
    ap.add_argument('--onnx', required=True)
    ap.add_argument('--tfjs-model', required=True)
    ap.add_argument('--runner', default='opencv')
    ap.add_argument('--backend', default='wasm', choices=['wasm', 'cpu'])
    ap.add_argument('--work', required=True)
    ap.add_argument('--tol', type=float, default=1e-3)
    ap.add_argument('inputs', nargs='+')
    a = ap.parse_args()
    man = json.load(open(a.manifest))
    names = [o['name'] for o in man['outputs']]
    to_tfjs = man['tfjs_input_layout'] != man['layout']
    bad = 0
    for inp in a.inputs:
        x = np.load(inp).astype(np.float32)
        if list(x.shape) != man['input_shape']:
            print(f'{inp}: shape {list(x.shape)}, model wants {man["input_shape"]}', file=sys.stderr)
            return 1
        xt = x.transpose(0, 2, 3, 1) if to_tfjs else x
        work = os.path.join(a.work, os.path.splitext(os.path.basename(inp))[0])
        try:
            ref = run_tfjs(a.tfjs_model, xt, work, a.backend, names)
            if a.runner == 'opencv':
                got = run_opencv(a.onnx, x, names)
            elif a.runner.startswith('vg-models'):
                exe = a.runner.partition('=')[2] or 'vg-models'
                got = run_vg_models(exe, a.onnx, x, names, work)
            else:
                print(f'unknown runner {a.runner}', file=sys.stderr)
                return 2
        except RuntimeError as e:
            print(f'{inp}: {e}', file=sys.stderr)
            return 1
        for o in man['outputs']:
            n = o['name']
            r = ref[n.replace('/', '_')]
            if o.get('tfjs_layout') == 'NHWC':  # the ONNX gives this output as NCHW
                r = r.transpose(0, 3, 1, 2)
            g = got[n].reshape(r.shape) if got[n].size == r.size else got[n]
            if r.shape != g.shape:
                print(f'{os.path.basename(inp)} {n}: shape {list(g.shape)} vs TF.js {list(r.shape)}  FAIL')
                bad += 1
                continue
            err = float(np.max(np.abs(r - g)))
            scale = float(np.max(np.abs(r)))
            ok = err <= a.tol * scale
            bad += 0 if ok else 1
            print(f'{os.path.basename(inp)} {n} {"x".join(map(str, r.shape))}: max|ref| {scale:.4g} '
                  f'max abs err {err:.3g} rel {err / max(scale, 1e-30):.3g} [{a.runner.partition("=")[0]}] '
                  f'{"ok" if ok else "FAIL"}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
