"""Dynamic int8 quantisation of an exported ONNX encoder with the `onnx` package alone
(Python onnxruntime is not installable here). Same pattern as onnxruntime's quantize_dynamic:

- MatMul with a constant weight W[K,N]: W -> int8 per output column (symmetric, zero point 0);
  activations quantised at run time: DynamicQuantizeLinear(A) -> MatMulInteger -> Cast ->
  Mul(a_scale * w_scale[N]).
- Gather from a constant table (embeddings): table -> int8 per row + DequantizeLinear.
- Everything else (LayerNorm, softmax, the tiny classifier Gemm) stays fp32.

Usage: python3 training/quantize.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    src, dst = sys.argv[1:3]
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    # constants may also arrive as Constant nodes
    consts = {}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)

    def const(name):
        if name in inits:
            return numpy_helper.to_array(inits[name])
        return consts.get(name)

    new_nodes, new_inits, drop = [], [], set()
    uses = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    qm = qg = 0
    for n in g.node:
        if n.op_type == "MatMul":
            w = const(n.input[1])
            if w is not None and w.ndim == 2 and w.size >= 1024:
                a = n.input[0]
                base = n.output[0] + "_q"
                scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
                wq = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
                new_inits += [numpy_helper.from_array(wq, base + "_W"),
                              numpy_helper.from_array(np.zeros(w.shape[1], np.int8), base + "_Wzp"),
                              numpy_helper.from_array(scale.astype(np.float32), base + "_Ws")]
                new_nodes += [
                    helper.make_node("DynamicQuantizeLinear", [a], [base + "_A", base + "_As", base + "_Azp"]),
                    helper.make_node("MatMulInteger", [base + "_A", base + "_W", base + "_Azp", base + "_Wzp"], [base + "_Y32"]),
                    helper.make_node("Cast", [base + "_Y32"], [base + "_Yf"], to=TensorProto.FLOAT),
                    helper.make_node("Mul", [base + "_As", base + "_Ws"], [base + "_S"]),
                    helper.make_node("Mul", [base + "_Yf", base + "_S"], [n.output[0]]),
                ]
                if uses.get(n.input[1], 0) == 1:
                    drop.add(n.input[1])
                qm += 1
                continue
        if n.op_type == "Gather":
            w = const(n.input[0])
            if w is not None and w.ndim == 2 and w.size >= 4096:
                base = n.output[0] + "_q"
                scale = np.maximum(np.abs(w).max(axis=1), 1e-12) / 127.0
                wq = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
                new_inits += [numpy_helper.from_array(wq, base + "_T"),
                              numpy_helper.from_array(scale.astype(np.float32), base + "_Ts"),
                              numpy_helper.from_array(np.zeros(w.shape[0], np.int8), base + "_Tzp")]
                new_nodes += [
                    helper.make_node("DequantizeLinear", [base + "_T", base + "_Ts", base + "_Tzp"], [base + "_Tf"], axis=0),
                    helper.make_node("Gather", [base + "_Tf", n.input[1]], list(n.output), **{a.name: helper.get_attribute_value(a) for a in n.attribute}),
                ]
                if uses.get(n.input[0], 0) == 1:
                    drop.add(n.input[0])
                qg += 1
                continue
        new_nodes.append(n)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    del g.node[:]
    g.node.extend(new_nodes)
    # drop Constant nodes whose outputs nobody reads any more
    used = set()
    for n in g.node:
        used.update(n.input)
    used.update(o.name for o in g.output)
    live = [n for n in g.node if not (n.op_type == "Constant" and n.output[0] not in used)]
    del g.node[:]
    g.node.extend(live)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    print(f"quantised {qm} MatMul and {qg} Gather nodes -> {dst}")


if __name__ == "__main__":
    main()
