#!/usr/bin/python3
"""Writes the hand-made seeds of tests/fuzz/corpus/onnx: graphs with the
model-supplied sizes the fuzzer once found undefined behaviour with (issue 10
item 13), so that the count-bound fuzz run under ctest replays them first and
a regression fails at once. The rest of the corpus are the small operator
graphs of tests/engine/make_fixtures.py. Run: /usr/bin/python3 make_onnx_seeds.py DIR"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inits, inputs, out, out_shape, elem=TensorProto.FLOAT):
    g = helper.make_graph(nodes, "seed", inputs, [helper.make_tensor_value_info(out, elem, out_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    return m.SerializeToString()


def main(out):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    seeds = {}
    # Slice with a step near INT64_MAX: st[i] * step[i] overflows
    for name, start, end, step in [("slice_huge_step", 0, 8, 2**62), ("slice_huge_neg_step", 7, -(2**63), -(2**62)),
                                   ("slice_max_step", 1, 8, 2**63 - 1)]:
        inits = [numpy_helper.from_array(np.array([start], np.int64), "starts"),
                 numpy_helper.from_array(np.array([end], np.int64), "ends"),
                 numpy_helper.from_array(np.array([1], np.int64), "axes"),
                 numpy_helper.from_array(np.array([step], np.int64), "steps")]
        seeds[name] = model([helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])], inits, [x],
                            "y", [1, 1])
    # Gather whose indices come from a float tensor: NaN, inf, huge
    for name, v in [("gather_nan_index", np.nan), ("gather_inf_index", np.inf), ("gather_huge_index", 1e30)]:
        inits = [numpy_helper.from_array(np.array([v], np.float32), "fi")]
        nodes = [helper.make_node("Cast", ["fi"], ["idx"], to=TensorProto.INT64),
                 helper.make_node("Gather", ["x", "idx"], ["y"], axis=1)]
        seeds[name] = model(nodes, inits, [x], "y", [1, 1])
        inits = [numpy_helper.from_array(np.array([v], np.float32), "fi")]
        seeds[name + "_float"] = model([helper.make_node("Gather", ["x", "fi"], ["y"], axis=1)], inits, [x], "y",
                                       [1, 1])
    for name, data in seeds.items():
        with open(f"{out}/{name}.onnx", "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
