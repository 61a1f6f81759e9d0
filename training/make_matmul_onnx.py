"""Writes the two one-node ONNX graphs bench/model.ts uses to measure this machine's
matrix-multiply peak with the same runtime the model uses: fp32 MatMul and int8
MatMulInteger (uint8 x int8 -> int32), both with every input fed at run time (no weights).

Usage: python3 training/make_matmul_onnx.py models/matmul-peak
"""
import os
import sys

import onnx
from onnx import TensorProto, helper


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    a = helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", "K"])
    b = helper.make_tensor_value_info("B", TensorProto.FLOAT, ["K", "N"])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", "N"])
    g = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["Y"])], "matmul_fp32", [a, b], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "matmul_fp32.onnx"))
    a = helper.make_tensor_value_info("A", TensorProto.UINT8, ["M", "K"])
    b = helper.make_tensor_value_info("B", TensorProto.INT8, ["K", "N"])
    y = helper.make_tensor_value_info("Y", TensorProto.INT32, ["M", "N"])
    g = helper.make_graph([helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "matmul_int8", [a, b], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "matmul_int8.onnx"))
    print("wrote", out)


if __name__ == "__main__":
    main()
