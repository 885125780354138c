#!/usr/bin/env python3
"""Convert the FID Inception network to a tfjs graph model folder for `tfjs-model-fd`.

NOT run by the tests, and not verified end to end in this project: it needs TensorFlow,
tensorflowjs and the TF FID graph, none of which is available offline here.

The FID network is TF's 2015 Inception graph (`classify_image_graph_def.pb`, the one
TTUR / pytorch-fid's `pt_inception-2015-12-05` reproduce); its `pool_3` output is the
2048-d FID feature. Obtain the .pb yourself (e.g. from the inception-2015-12-05 tarball),
then, where TensorFlow 2 and tensorflowjs are installed:

    pip install tensorflow tensorflowjs
    python scripts/convert_fid_inception.py classify_image_graph_def.pb fid-inception/

This writes fid-inception/model.json + shards (tensorflowjs_converter, frozen-model input,
input node `ExpandDims` (a [1, h, w, 3] float image in [0, 255]; the graph resizes to
299 x 299 itself), output node `pool_3`) and fid-inception/metric.json:

    {"label": "FID (TF Inception 2015-12-05 pool_3, converted)", "official": true,
     "input": {"size": [299, 299], "range": [0, 255], "alignCorners": false},
     "output": "pool_3", "inputName": "ExpandDims"}

Caveats: the 2015 graph has a fixed batch of 1 in places (TTUR patches shapes to allow
batches; tfjs-model-fd feeds batches of `batchSize`, so use batchSize 1 if execution fails),
and tfjs must support every op left after conversion (older graphs may contain
`BatchNormWithGlobalNormalization`, which the converter's optimiser usually folds away).
torch-fidelity/pytorch-fid also resize with their own bilinear kernel and read 8-bit PNGs;
dirac-pipe resizes in float with tf.image.resizeBilinear, so expect small differences.
"""
import json
import os
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    graph, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    subprocess.run(
        [
            "tensorflowjs_converter",
            "--input_format=tf_frozen_model",
            "--output_format=tfjs_graph_model",
            "--output_node_names=pool_3",
            graph,
            out,
        ],
        check=True,
    )
    config = {
        "label": "FID (TF Inception 2015-12-05 pool_3, converted)",
        "official": True,
        "input": {"size": [299, 299], "range": [0, 255], "alignCorners": False},
        "output": "pool_3",
        "inputName": "ExpandDims",
    }
    with open(os.path.join(out, "metric.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {out}/model.json and {out}/metric.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
