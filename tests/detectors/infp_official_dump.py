#!/usr/bin/python3
"""Cross-check of the C++ INFP network against the official PyTorch code (manual, not in CI).

Builds the official INFP (GitHub YuQianzi/INFP, a checkout given as the first argument; timm and
einops are replaced by the two tiny helpers the code imports) with a fixed seed, and writes to the
output folder:
  params.json  [[name, shape], ...] in the order of the C++ module's parameters
  params.bin   the parameters, float32, in that order
  input.bin    a clip [1, 4, 3, 224, 288] in [-1, 1], float32
  output.bin   the official network's prediction in eval mode [1, 3, 224, 288], float32
  enc_s2/s4/s8.bin  the encoder's three maps for the clip's first frame
  fusion_in/out.bin, filter_in/out.bin  the fusion block and the trajectory filter alone on
               standard normal inputs [1, 2048, 28, 36] and [1, 256, 224, 288]
The C++ side is the hidden test "[.official]" of test_infp.cpp:
  /usr/bin/python3 tests/detectors/infp_official_dump.py /path/to/INFP /tmp/infp_dump
  INFP_OFFICIAL_DUMP=/tmp/infp_dump build/tests/detectors/test_infp "[.official]"
"""
import collections.abc
import json
import os
import sys
import tempfile
import types

import torch


def stub_modules():
    def to_2tuple(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return (x, x)

    for name in ("timm", "timm.models", "timm.models.layers", "einops"):
        sys.modules.setdefault(name, types.ModuleType(name))
    helpers = types.ModuleType("timm.models.layers.helpers")
    helpers.to_2tuple = to_2tuple
    sys.modules["timm.models.layers.helpers"] = helpers
    einops = types.ModuleType("einops.einops")
    einops.rearrange = None
    sys.modules["einops.einops"] = einops


class Node:
    pass


def main():
    official, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    stub_modules()
    sys.path.insert(0, official)
    from models.wresnet1024_cattn_tsm import INFP

    cfg = Node()
    cfg.MODEL = Node()
    cfg.MODEL.ENCODED_FRAMES = 4
    cfg.MODEL.NAME = "wrn38"
    cfg.MODEL.EXTRA = Node()
    cfg.MODEL.EXTRA.FINAL_CONV_KERNEL = 3
    torch.manual_seed(0)
    net = INFP(cfg).eval()

    # Registration order differs from the C++ modules in two places: ResBlock_Conv registers conv1,
    # conv2, trans_layer (applied conv1, trans_layer, conv2), fusion_module registers its SE before
    # the four convs. List the official parameters in the C++ order.
    named = list(net.named_parameters())
    spa = "fusion.freq_extractor.spatial_process.block."
    order_spa = {spa + "conv1": 0, spa + "trans_layer": 1, spa + "conv2": 2}

    def key(item):
        i, (name, _) = item
        if name.startswith("fusion.freq_extractor."):
            rank = 3  # frequency_process, cat
            for prefix, r in order_spa.items():
                if name.startswith(prefix):
                    rank = r
            return (1, rank, i)
        if name.startswith("fusion.fusion."):
            return (2, 1 if name.startswith("fusion.fusion.se.") else 0, i)
        if name.startswith("filter."):
            return (3, 0, i)
        return (0, 0, i)

    ordered = [nt for _, nt in sorted(enumerate(named), key=key)]
    with open(os.path.join(out, "params.json"), "w") as f:
        json.dump([[n, list(p.shape)] for n, p in ordered], f)
    with open(os.path.join(out, "params.bin"), "wb") as f:
        for _, p in ordered:
            f.write(p.detach().float().contiguous().numpy().tobytes())
    clip = torch.rand(1, 4, 3, 224, 288) * 2 - 1
    fusion_in = torch.randn(1, 2048, 28, 36)
    filter_in = torch.randn(1, 256, 224, 288)
    with torch.no_grad():
        y = net([clip[:, i] for i in range(4)])
        s2, s4, s8 = net.wrn38(clip[:, 0])
        fusion_out = net.fusion(fusion_in)
        filter_out = net.filter(filter_in)
    for name, t in [("input", clip), ("output", y), ("enc_s2", s2), ("enc_s4", s4), ("enc_s8", s8),
                    ("fusion_in", fusion_in), ("fusion_out", fusion_out), ("filter_in", filter_in),
                    ("filter_out", filter_out)]:
        t.float().contiguous().numpy().tofile(os.path.join(out, name + ".bin"))
    print(f"{len(ordered)} tensors, {sum(p.numel() for _, p in ordered)} parameters; output mean "
          f"{y.mean().item():.6f} std {y.std().item():.6f}")


if __name__ == "__main__":
    main()
