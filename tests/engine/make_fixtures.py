#!/usr/bin/python3
"""Fixtures for the engine tests: tiny per-operator ONNX graphs, whole
networks and bad files, each with inputs and reference outputs computed by an
independent runtime (PyTorch; the graphs are torch exports or onnx.helper
graphs whose reference is the matching torch.nn.functional call).

usage: make_fixtures.py --out DIR --set unit|e2e [--bench]
Writes DIR/<name>.onnx, DIR/<name>.in.npz (keyed by input name),
DIR/<name>.ref.npz (keyed by output name) and DIR/manifest-<set>.txt with one
line per case: "<name> <tolerance>". Bad files go to DIR/bad/. A stamp of this
script's hash skips regeneration when nothing changed.
"""
import argparse
import hashlib
import io
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.manual_seed(0)
torch.set_num_threads(1)
RNG = np.random.default_rng(0)
OUT = None
CASES = []


def save_case(name, model_bytes, inputs, outputs, tol=1e-4):
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(model_bytes)
    np.savez(os.path.join(OUT, name + ".in.npz"), **{k: np.ascontiguousarray(v, np.float32) for k, v in inputs.items()})
    np.savez(os.path.join(OUT, name + ".ref.npz"), **{k: np.ascontiguousarray(v, np.float32) for k, v in outputs.items()})
    CASES.append((name, tol))


def export(name, module, shapes, opset=13, tol=1e-4, inputs=None):
    """Exports a torch module and stores its own outputs as the reference."""
    module.eval()
    if inputs is None:
        inputs = [torch.randn(*s) for s in shapes]
    in_names = ["x%d" % i for i in range(len(inputs))]
    with torch.no_grad():
        ref = module(*inputs)
    if not isinstance(ref, (tuple, list)):
        ref = [ref]
    out_names = ["y%d" % i for i in range(len(ref))]
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, tuple(inputs), buf, opset_version=opset, input_names=in_names,
                          output_names=out_names, do_constant_folding=True)
    save_case(name, buf.getvalue(), {n: t.numpy() for n, t in zip(in_names, inputs)},
              {n: t.float().numpy() for n, t in zip(out_names, ref)}, tol)


def helper_case(name, nodes, inputs, outputs, inits, ref, opset=13, tol=1e-4):
    """A hand-built graph; `ref` holds reference outputs from torch."""
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in inputs.items()],
                          [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(r.shape)) for k, r in zip(outputs, ref)],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    save_case(name, m.SerializeToString(), inputs, dict(zip(outputs, ref)), tol)


class Fn(nn.Module):
    def __init__(self, f, *mods):
        super().__init__()
        self.f = f
        self.m = nn.ModuleList(mods)

    def forward(self, *x):
        return self.f(self.m, *x)


def ops_cases():
    C = 8
    export("conv3x3", nn.Conv2d(C, 16, 3, padding=1), [(1, C, 12, 10)])
    export("conv_s2_nobias", nn.Conv2d(C, 16, 3, stride=2, padding=1, bias=False), [(2, C, 13, 11)])
    export("conv_dw_relu6", nn.Sequential(nn.Conv2d(C, C, 3, padding=1, groups=C), nn.ReLU6()), [(1, C, 9, 9)])
    export("conv_group_dil", nn.Conv2d(C, 16, 3, padding=2, dilation=2, groups=2), [(1, C, 11, 11)])
    export("conv1x1_relu", nn.Sequential(nn.Conv2d(C, 32, 1), nn.ReLU()), [(1, C, 7, 7)])
    export("conv_asym_pad", Fn(lambda m, x: m[0](F.pad(x, (0, 1, 0, 1))), nn.Conv2d(C, 8, 3, stride=2)), [(1, C, 10, 10)])
    export("convtranspose", nn.ConvTranspose2d(C, 4, 4, stride=2, padding=1), [(1, C, 6, 5)])
    export("convtranspose_outpad", nn.ConvTranspose2d(C, 6, 3, stride=2, padding=1, output_padding=1, groups=2), [(1, C, 5, 5)])
    export("gemm", nn.Linear(24, 10), [(3, 24)])
    export("gemm_flatten", Fn(lambda m, x: m[0](torch.flatten(x, 1)), nn.Linear(C * 4, 5)), [(2, C, 2, 2)])
    w = torch.randn(2, 6, 5)
    export("matmul", Fn(lambda m, x: torch.matmul(x, w)), [(2, 3, 6)])
    export("matmul_rt", Fn(lambda m, a, b: torch.matmul(a, b)), [(2, 4, 6), (2, 6, 3)])
    export("maxpool", nn.MaxPool2d(3, 2, 1), [(1, C, 13, 12)])
    export("maxpool_ceil", nn.MaxPool2d(2, 2, ceil_mode=True), [(1, C, 9, 7)])
    export("avgpool", nn.AvgPool2d(3, 2, 1, count_include_pad=False), [(1, C, 10, 9)])
    export("avgpool_incl", nn.AvgPool2d(3, 2, 1, count_include_pad=True), [(1, C, 10, 9)])
    export("globalavgpool", nn.AdaptiveAvgPool2d(1), [(2, C, 7, 5)])
    export("relu", nn.ReLU(), [(2, C, 5, 5)])
    export("leakyrelu", nn.LeakyReLU(0.1), [(2, C, 5, 5)])
    export("clip", Fn(lambda m, x: torch.clamp(x, -0.5, 0.7)), [(2, C, 5, 5)])
    export("hardswish14", nn.Hardswish(), [(1, C, 5, 5)], opset=14)
    export("hardswish13", nn.Hardswish(), [(1, C, 5, 5)], opset=13)
    export("sigmoid", nn.Sigmoid(), [(1, C, 5, 5)])
    export("silu", nn.SiLU(), [(1, C, 5, 5)])
    export("tanh", nn.Tanh(), [(1, C, 5, 5)])
    export("conv_silu", nn.Sequential(nn.Conv2d(C, 8, 3, padding=1), nn.SiLU()), [(1, C, 8, 8)])
    export("conv_hswish", nn.Sequential(nn.Conv2d(C, 8, 3, padding=1), nn.Hardswish()), [(1, C, 8, 8)], opset=13)
    export("conv_leaky", nn.Sequential(nn.Conv2d(C, 8, 3, padding=1), nn.LeakyReLU(0.1)), [(1, C, 8, 8)])
    export("conv_sigmoid", nn.Sequential(nn.Conv2d(C, 8, 1), nn.Sigmoid()), [(1, C, 8, 8)])
    export("residual", Fn(lambda m, x: F.relu(m[1](F.relu(m[0](x))) + x), nn.Conv2d(C, C, 3, padding=1), nn.Conv2d(C, C, 3, padding=1)),
           [(1, C, 9, 9)])
    export("residual_self", Fn(lambda m, x: m[0](x) + x, nn.Conv2d(C, C, 3, padding=1)), [(1, C, 6, 6)])
    b = torch.randn(1, C, 1, 1)
    export("add_bcast_const", Fn(lambda m, x: m[0](x) + b, nn.Conv2d(C, C, 1)), [(2, C, 5, 5)])
    export("mul_bcast_rt", Fn(lambda m, x: x * torch.sigmoid(x.mean((2, 3), keepdim=True))), [(2, C, 5, 6)])
    export("sub_div", Fn(lambda m, x, y: (x - y) / (y * y + 1.0)), [(2, 3, 4), (3, 4)])
    export("sub_bcast_left", Fn(lambda m, x, y: y - x), [(2, 3, 4), (4,)])
    export("pow", Fn(lambda m, x: x ** 2 * 0.5), [(2, 3, 4)])
    export("concat_ch", Fn(lambda m, x: torch.cat([m[0](x), m[1](x), x], 1), nn.Conv2d(C, 4, 1), nn.Conv2d(C, 6, 3, padding=1)),
           [(1, C, 6, 7)])
    export("concat_ax2", Fn(lambda m, x, y: torch.cat([x, y], 2)), [(1, 3, 4, 5), (1, 3, 2, 5)])
    export("resize_nearest2x", Fn(lambda m, x: F.interpolate(m[0](x), scale_factor=2, mode="nearest"), nn.Conv2d(C, 4, 1)),
           [(1, C, 5, 6)], opset=11)
    export("resize_bilinear", Fn(lambda m, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)),
           [(1, 3, 5, 6)], opset=11)
    export("resize_bilinear_ac", Fn(lambda m, x: F.interpolate(x, size=(9, 7), mode="bilinear", align_corners=True)),
           [(1, 3, 5, 6)], opset=11)
    export("resize_down", Fn(lambda m, x: F.interpolate(x, size=(4, 3), mode="bilinear", align_corners=False)), [(1, 2, 9, 7)], opset=11)
    export("upsample_op9", Fn(lambda m, x: F.interpolate(x, scale_factor=2, mode="nearest")), [(1, 2, 3, 4)], opset=9)
    export("reshape_flatten", Fn(lambda m, x: x.reshape(x.size(0), -1, 2).flatten(1)), [(2, 4, 3, 2)])
    export("transpose", Fn(lambda m, x: x.permute(0, 2, 3, 1).contiguous() * 2), [(1, 5, 3, 4)])
    export("conv_transpose_reshape", Fn(lambda m, x: m[0](x).permute(0, 2, 3, 1).reshape(1, -1, 6).sigmoid(), nn.Conv2d(C, 6, 1)),
           [(1, C, 4, 5)])
    export("squeeze_unsqueeze", Fn(lambda m, x: x.unsqueeze(1).squeeze(3) + 1), [(2, 3, 1, 4)])
    export("slice", Fn(lambda m, x: x[:, 1:, 1:7:2, -3:]), [(2, 3, 9, 6)])
    export("split", Fn(lambda m, x: torch.split(x, [2, 3, 1], dim=1)), [(1, 6, 4, 4)])
    export("chunk", Fn(lambda m, x: torch.chunk(m[0](x), 2, 1), nn.Conv2d(C, 8, 1)), [(1, C, 4, 4)])
    export("pad_const", Fn(lambda m, x: F.pad(x, (1, 2, 0, 1), value=0.5)), [(1, 2, 4, 5)])
    export("pad_reflect", Fn(lambda m, x: F.pad(x, (2, 1, 1, 2), mode="reflect")), [(1, 2, 4, 5)])
    export("pad_edge", Fn(lambda m, x: F.pad(x, (2, 1, 1, 2), mode="replicate")), [(1, 2, 4, 5)])
    export("shape_gather_view", Fn(lambda m, x: x.view(x.size(0), x.size(1) * x.size(2), -1)), [(2, 3, 4, 5)])
    export("softmax", Fn(lambda m, x: F.softmax(x, dim=1)), [(2, 7, 3)])
    export("softmax_last", Fn(lambda m, x: F.softmax(x * 3, dim=-1)), [(2, 3, 16)])
    export("reducemean", Fn(lambda m, x: x.mean((2, 3), keepdim=False)), [(2, 5, 4, 3)])
    export("argmax", Fn(lambda m, x: torch.argmax(x, 1).float()), [(2, 5, 4)])
    export("topk", Fn(lambda m, x: tuple(t.float() for t in torch.topk(x, 3, dim=1))), [(2, 10)])
    export("gather_rt", Fn(lambda m, x: x[:, 2] + x[:, torch.tensor([0, 3])].sum(1)), [(2, 5, 4)])
    export("softmax_op11", Fn(lambda m, x: F.softmax(x, dim=1)), [(2, 7, 3)], opset=11)
    export("unsqueeze_op11", Fn(lambda m, x: x.unsqueeze(0).squeeze(1) * 3), [(1, 3, 4)], opset=11)
    export("reducemean_op11", Fn(lambda m, x: x.mean(1, keepdim=True) - x.amax(2, keepdim=True)), [(2, 5, 4)], opset=11)
    export("maxmin", Fn(lambda m, x, y: torch.maximum(x, y) - torch.minimum(x, y * 2)), [(2, 3, 4), (2, 3, 4)])
    export("exp_neg_abs", Fn(lambda m, x: torch.exp(-x.abs()) + torch.sqrt(x.abs() + 1)), [(2, 3, 4)])
    x = RNG.standard_normal((1, 3, 4, 4)).astype(np.float32)
    helper_case("identity_dropout", [helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Dropout", ["i"], ["d"]),
                                     helper.make_node("Relu", ["d"], ["y"])],
                {"x": x}, ["y"], {}, [np.maximum(x, 0)])
    bn = nn.BatchNorm2d(C)
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.normal_()
    bn.bias.data.normal_()
    export("batchnorm", Fn(lambda m, x: m[0](x + 1), bn), [(1, C, 4, 4)])

    # Conv -> BatchNormalization -> Relu as separate nodes (torch exports fold BN)
    x = RNG.standard_normal((1, C, 7, 7)).astype(np.float32)
    W = RNG.standard_normal((16, C, 3, 3)).astype(np.float32) * 0.2
    Bc = RNG.standard_normal(16).astype(np.float32)
    sc, bb, mu = [RNG.standard_normal(16).astype(np.float32) for _ in range(3)]
    var = RNG.uniform(0.5, 2, 16).astype(np.float32)
    t = F.conv2d(torch.from_numpy(x), torch.from_numpy(W), torch.from_numpy(Bc), padding=1)
    t = F.relu(F.batch_norm(t, torch.from_numpy(mu), torch.from_numpy(var), torch.from_numpy(sc), torch.from_numpy(bb), eps=1e-3))
    helper_case("conv_bn_relu", [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
        helper.make_node("Relu", ["n"], ["y"])],
        {"x": x}, ["y"], {"W": W, "B": Bc, "s": sc, "b": bb, "m": mu, "v": var}, [t.numpy()])
    # Resize linear half_pixel and nearest asymmetric as the TF.js converter emits them
    x = RNG.standard_normal((1, 4, 6, 5)).astype(np.float32)
    t = F.interpolate(torch.from_numpy(x), size=(12, 10), mode="bilinear", align_corners=False)
    helper_case("resize_half_pixel", [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="linear",
                                                       coordinate_transformation_mode="half_pixel")],
                {"x": x}, ["y"], {"sc": np.array([1, 1, 2, 2], np.float32)}, [t.numpy()])
    t = F.interpolate(torch.from_numpy(x), size=(13, 11), mode="bilinear", align_corners=False)
    helper_case("resize_sizes_half_pixel", [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear",
                                                             coordinate_transformation_mode="half_pixel")],
                {"x": x}, ["y"], {"sz": np.array([1, 4, 13, 11], np.int64)}, [t.numpy()])
    t = F.interpolate(torch.from_numpy(x), scale_factor=2, mode="nearest")
    helper_case("resize_nearest_asym", [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest",
                                                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                {"x": x}, ["y"], {"sc": np.array([1, 1, 2, 2], np.float32)}, [t.numpy()])
    # MaxPool with explicit pads after a LeakyRelu (NanoDet style), Split by attribute (opset 11)
    x = RNG.standard_normal((1, 6, 8, 8)).astype(np.float32)
    t = F.max_pool2d(F.leaky_relu(torch.from_numpy(x), 0.1), 2, 2, padding=1)
    helper_case("leaky_maxpool_pads", [helper.make_node("LeakyRelu", ["x"], ["l"], alpha=0.1),
                                       helper.make_node("MaxPool", ["l"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1])],
                {"x": x}, ["y"], {}, [t.numpy()], opset=11)
    a, b2 = torch.split(torch.from_numpy(x), [2, 4], 1)
    helper_case("split_attr11", [helper.make_node("Split", ["x"], ["a", "b"], axis=1, split=[2, 4])],
                {"x": x}, ["a", "b"], {}, [a.numpy(), b2.numpy()], opset=11)


def bad_cases():
    d = os.path.join(OUT, "bad")
    os.makedirs(d, exist_ok=True)
    good = open(os.path.join(OUT, "conv3x3.onnx"), "rb").read()
    open(os.path.join(d, "truncated.onnx"), "wb").write(good[: len(good) // 2])
    open(os.path.join(d, "wrong_magic.onnx"), "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    open(os.path.join(d, "empty.onnx"), "wb").write(b"")

    def model(nodes, inputs, outputs, inits=(), opset=13):
        g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return m.SerializeToString()

    vi = helper.make_tensor_value_info
    x = vi("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = vi("y", TensorProto.FLOAT, None)
    open(os.path.join(d, "unknown_op.onnx"), "wb").write(model([helper.make_node("FooBar", ["x"], ["y"], name="foo1")], [x], [y]))
    z = vi("z", TensorProto.FLOAT, [1, 5, 4, 4])
    open(os.path.join(d, "shape_mismatch.onnx"), "wb").write(
        model([helper.make_node("Add", ["x", "z"], ["y"], name="add1")], [x, z], [y]))
    W = numpy_helper.from_array(np.zeros((8, 4, 3, 3), np.float32), "W")
    open(os.path.join(d, "conv_channels.onnx"), "wb").write(
        model([helper.make_node("Conv", ["x", "W"], ["y"], name="conv1")], [x], [y], [W]))
    huge = TensorProto()
    huge.name, huge.data_type = "H", TensorProto.FLOAT
    huge.dims.extend([1 << 20, 1 << 20])
    open(os.path.join(d, "absurd_size.onnx"), "wb").write(
        model([helper.make_node("Add", ["x", "H"], ["y"], name="add2")], [x], [y], [huge]))
    big_in = vi("x", TensorProto.FLOAT, [1 << 16, 1 << 16, 3, 4])
    open(os.path.join(d, "absurd_input.onnx"), "wb").write(model([helper.make_node("Relu", ["x"], ["y"])], [big_in], [y]))
    ext = TensorProto()
    ext.name, ext.data_type = "E", TensorProto.FLOAT
    ext.dims.extend([3])
    ext.data_location = TensorProto.EXTERNAL
    e = ext.external_data.add()
    e.key, e.value = "location", "weights.bin"
    open(os.path.join(d, "external_data.onnx"), "wb").write(
        model([helper.make_node("Add", ["x", "E"], ["y"], name="add3")], [x], [y], [ext]))
    open(os.path.join(d, "missing_input.onnx"), "wb").write(
        model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add4")], [x], [y]))
    open(os.path.join(d, "bad_attr.onnx"), "wb").write(
        model([helper.make_node("Resize", ["x", "", "s"], ["y"], name="rs1", mode="cubic")], [x], [y],
              [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")]))


def fuzz_corpus():
    """Seeds for tests/fuzz_onnx_loader.c: the small operator graphs and bad files."""
    import shutil
    d = os.path.join(OUT, "corpus")
    os.makedirs(d, exist_ok=True)
    for src in [os.path.join(OUT, n + ".onnx") for n, _ in CASES] + \
            [os.path.join(OUT, "bad", f) for f in os.listdir(os.path.join(OUT, "bad"))]:
        if os.path.getsize(src) <= 64 * 1024:
            shutil.copy(src, os.path.join(d, os.path.basename(src)))


def set_bn_stats(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


class ConvBnAct(nn.Module):
    def __init__(self, c1, c2, k=1, s=1, act=nn.SiLU, p=None):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = act()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1 = ConvBnAct(c, c, 1)
        self.cv2 = ConvBnAct(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C3(nn.Module):
    def __init__(self, c1, c2, n=1):
        super().__init__()
        c = c2 // 2
        self.cv1, self.cv2, self.cv3 = ConvBnAct(c1, c), ConvBnAct(c1, c), ConvBnAct(2 * c, c2)
        self.m = nn.Sequential(*[Bottleneck(c) for _ in range(n)])

    def forward(self, x):
        return self.cv3(torch.cat([self.m(self.cv1(x)), self.cv2(x)], 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2 = ConvBnAct(c1, c), ConvBnAct(c * 4, c2)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class TinyYolo(nn.Module):
    """A small YOLOv5-style detector: CSP backbone, SPPF, PAN neck, Detect head
    with grid decoding (v5) or a DFL head (v8)."""

    def __init__(self, nc=80, w=32, v8=False):
        super().__init__()
        self.v8, self.nc, self.na = v8, nc, 3
        self.b0 = ConvBnAct(3, w // 2, 6, 2, p=2)
        self.b1 = nn.Sequential(ConvBnAct(w // 2, w, 3, 2), C3(w, w))
        self.b2 = nn.Sequential(ConvBnAct(w, 2 * w, 3, 2), C3(2 * w, 2 * w, 2))       # P3 /8
        self.b3 = nn.Sequential(ConvBnAct(2 * w, 4 * w, 3, 2), C3(4 * w, 4 * w))       # P4 /16
        self.b4 = nn.Sequential(ConvBnAct(4 * w, 8 * w, 3, 2), C3(8 * w, 8 * w), SPPF(8 * w, 8 * w))  # P5 /32
        self.h1 = ConvBnAct(8 * w, 4 * w)
        self.h2 = C3(8 * w, 4 * w)
        self.h3 = ConvBnAct(4 * w, 2 * w)
        self.h4 = C3(4 * w, 2 * w)
        self.h5 = ConvBnAct(2 * w, 2 * w, 3, 2)
        self.h6 = C3(4 * w, 4 * w)
        self.h7 = ConvBnAct(4 * w, 4 * w, 3, 2)
        self.h8 = C3(8 * w, 8 * w)
        chs = [2 * w, 4 * w, 8 * w]
        if v8:
            self.reg = nn.ModuleList(nn.Sequential(ConvBnAct(c, 64, 3), nn.Conv2d(64, 64, 1)) for c in chs)
            self.cls = nn.ModuleList(nn.Sequential(ConvBnAct(c, 64, 3), nn.Conv2d(64, nc, 1)) for c in chs)
            self.register_buffer("proj", torch.arange(16).float())
        else:
            self.det = nn.ModuleList(nn.Conv2d(c, self.na * (nc + 5), 1) for c in chs)
            self.register_buffer("anchors", torch.tensor([[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119],
                                                          [116, 90, 156, 198, 373, 326]]).float().view(3, 3, 2))

    def forward(self, x):
        p3 = self.b2(self.b1(self.b0(x)))
        p4 = self.b3(p3)
        p5 = self.b4(p4)
        t5 = self.h1(p5)
        u = self.h2(torch.cat([F.interpolate(t5, scale_factor=2, mode="nearest"), p4], 1))
        t4 = self.h3(u)
        o3 = self.h4(torch.cat([F.interpolate(t4, scale_factor=2, mode="nearest"), p3], 1))
        o4 = self.h6(torch.cat([self.h5(o3), t4], 1))
        o5 = self.h8(torch.cat([self.h7(o4), t5], 1))
        outs = []
        for i, (f, s) in enumerate(zip([o3, o4, o5], [8, 16, 32])):
            b, _, ny, nx = f.shape
            yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            if self.v8:
                box = self.reg[i](f).view(b, 4, 16, ny * nx).transpose(1, 2).softmax(1)    # b,16,4,n
                dist = (box * self.proj.view(1, 16, 1, 1)).sum(1)                          # b,4,n
                grid = torch.stack((xv, yv), 0).view(1, 2, ny * nx).float() + 0.5
                lt, rb = dist[:, :2], dist[:, 2:]
                xy = (grid + (rb - lt) / 2) * s
                wh = (lt + rb) * s
                cls = self.cls[i](f).view(b, self.nc, ny * nx).sigmoid()
                outs.append(torch.cat([xy, wh, cls], 1))
            else:
                y = self.det[i](f).view(b, self.na, self.nc + 5, ny, nx).permute(0, 1, 3, 4, 2).sigmoid()
                grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).float()
                xy = (y[..., 0:2] * 2 - 0.5 + grid) * s
                wh = (y[..., 2:4] * 2) ** 2 * self.anchors[i].view(1, self.na, 1, 1, 2)
                outs.append(torch.cat((xy, wh, y[..., 4:]), -1).view(b, -1, self.nc + 5))
        return torch.cat(outs, 2 if self.v8 else 1)


class NanoDetLike(nn.Module):
    """The operator mix of the TF.js NanoDet conversion (Conv, LeakyRelu, Add,
    Concat, Resize linear, MaxPool with pads, Transpose, Reshape, Sigmoid,
    Split, Pad) with its six outputs for a 416x416 input."""

    def __init__(self, nc=80):
        super().__init__()
        def cbl(c1, c2, k=3, s=1):
            return nn.Sequential(nn.Conv2d(c1, c2, k, s, k // 2), nn.LeakyReLU(0.1))
        self.stem = cbl(3, 24, 3, 2)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.s2 = nn.Sequential(cbl(24, 48, 3, 2), cbl(48, 48))          # /8 -> 52
        self.s3 = nn.Sequential(cbl(48, 96, 3, 2), cbl(96, 96))          # /16 -> 26
        self.s4 = nn.Sequential(cbl(96, 192, 3, 2), cbl(192, 192))       # /32 -> 13
        self.lat = nn.ModuleList([nn.Conv2d(c, 64, 1) for c in (48, 96, 192)])
        self.heads = nn.ModuleList([cbl(64, 64) for _ in range(3)])
        self.out = nn.ModuleList([nn.Conv2d(64, nc + 44, 1) for _ in range(3)])
        self.nc = nc

    def forward(self, x):
        x = self.pool(self.stem(x))
        c2 = self.s2(x)
        c2 = c2 + self.s2[1](c2)
        c3 = self.s3(c2)
        c4 = self.s4(F.pad(c3, (0, 0, 0, 0)))
        p4 = self.lat[2](c4)
        p3 = self.lat[1](c3) + F.interpolate(p4, scale_factor=2, mode="bilinear", align_corners=False)
        p2 = self.lat[0](c2) + F.interpolate(p3, scale_factor=2, mode="bilinear", align_corners=False)
        outs = []
        for i, p in enumerate([p2, p3, p4]):
            o = self.out[i](self.heads[i](p))
            b, c, h, w = o.shape
            o = o.permute(0, 2, 3, 1).reshape(b, h * w, c)
            cls, reg = torch.split(o, [self.nc, 44], 2)
            outs += [cls.sigmoid(), reg]
        return tuple(outs)


def cache_models(d):
    """Models converted from TF.js into the cache (models/convert/): reference
    outputs from OpenCV's DNN module on the same file."""
    import cv2
    for name in ("nanodet", "blazeface", "emotion"):
        path = os.path.join(d, name + ".onnx")
        if not os.path.exists(path):
            continue
        m = onnx.load(path)
        inp = m.graph.input[0]
        shape = [dd.dim_value or 1 for dd in inp.type.tensor_type.shape.dim]
        outs = [o.name for o in m.graph.output]
        x = np.random.default_rng(5).random(shape, dtype=np.float32)
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(x, inp.name)
        res = net.forward(outs)
        data = open(path, "rb").read()
        shapes = {}
        for o in m.graph.output:
            shapes[o.name] = [dd.dim_value for dd in o.type.tensor_type.shape.dim]
        save_case("cache_" + name, data, {inp.name: x},
                  {k: np.asarray(r, np.float32).reshape(shapes[k]) if all(shapes[k]) else np.asarray(r, np.float32)
                   for k, r in zip(outs, res)})


def e2e_cases(bench):
    import torchvision
    gen = torch.Generator().manual_seed(1)
    for name, ctor in (("mobilenet_v2", torchvision.models.mobilenet_v2), ("resnet18", torchvision.models.resnet18)):
        torch.manual_seed(1)
        m = ctor(weights=None)
        set_bn_stats(m, gen)
        x = torch.randn(1, 3, 224, 224, generator=gen)
        export(name, m, None, opset=13, inputs=[x])
    torch.manual_seed(2)
    m = TinyYolo()
    set_bn_stats(m, gen)
    export("yolov5_tiny", m, None, opset=12, inputs=[torch.rand(1, 3, 320, 320, generator=gen)])
    torch.manual_seed(3)
    m = TinyYolo(v8=True)
    set_bn_stats(m, gen)
    export("yolov8_tiny", m, None, opset=13, inputs=[torch.rand(1, 3, 320, 320, generator=gen)])
    torch.manual_seed(4)
    m = NanoDetLike()
    for p in m.parameters():
        p.data *= 0.5
    export("nanodet_like", m, None, opset=11, inputs=[torch.rand(1, 3, 416, 416, generator=gen)])
    cache_models(os.path.join(os.environ.get("VIGIL_CACHE_DIR", os.path.expanduser("~/.cache/vigil")), "models"))
    if bench:
        torch.manual_seed(2)
        m = TinyYolo(w=64)
        set_bn_stats(m, gen)
        export("yolov5s_640", m, None, opset=12, inputs=[torch.rand(1, 3, 640, 640, generator=gen)])


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", choices=["unit", "e2e"], required=True)
    ap.add_argument("--bench", action="store_true")
    a = ap.parse_args()
    OUT = a.out
    os.makedirs(OUT, exist_ok=True)
    h = hashlib.sha256(open(__file__, "rb").read())
    cache = os.path.join(os.environ.get("VIGIL_CACHE_DIR", os.path.expanduser("~/.cache/vigil")), "models")
    for name in ("nanodet", "blazeface", "emotion"):
        p = os.path.join(cache, name + ".onnx")
        if a.set == "e2e" and os.path.exists(p):
            st = os.stat(p)
            h.update(("%s:%d:%d" % (p, st.st_size, st.st_mtime)).encode())
    digest = h.hexdigest()
    stamp = os.path.join(OUT, "stamp-%s%s" % (a.set, "-bench" if a.bench else ""))
    if os.path.exists(stamp) and open(stamp).read() == digest:
        print("make_fixtures: %s fixtures up to date in %s" % (a.set, OUT))
        return 0
    if a.set == "unit":
        ops_cases()
        bad_cases()
        fuzz_corpus()
    else:
        e2e_cases(a.bench)
    with open(os.path.join(OUT, "manifest-%s.txt" % a.set), "w") as f:
        for name, tol in CASES:
            f.write("%s %g\n" % (name, tol))
    open(stamp, "w").write(digest)
    print("make_fixtures: wrote %d %s cases to %s" % (len(CASES), a.set, OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
