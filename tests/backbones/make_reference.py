#!/usr/bin/env python3
"""Reference data for test_backbones: torchvision (Debian's python3-torchvision) computes the
features that adbench's C++ backbones must reproduce.

  make_reference.py random OUT_DIR STAMP
      For resnet18, resnet34, wide_resnet50_2 and mobilenet_v2: seeded random weights (<arch>.safetensors,
      written by scripts/export_weights.py) and <arch>_ref.safetensors holding a random input
      [2,3,64,64] ("input"), every tappable layer's output ("layer.<name>", by forward hooks) and
      the logits. Also mobilenet_v2 with TF SAME padding (mobilenet_v2_tfsame*.safetensors, input
      [2,3,90,75] so that even and odd sizes meet the rule) and the same mobilenet_v2 as a
      TorchScript archive with an adbench.json extra file (mobilenet_v2.pt).
  make_reference.py shared OUT_DIR STAMP WEIGHTS
      The real MobileNetV2 (../shared/weights): logits and features.18 with the weights README's
      exact TF-SAME reproduction (padding=0 on the five stride-2 convolutions and
      F.pad(x, (0,1,0,1)) before them) on a deterministic synthetic 224x224 input, and with the
      general TF rule on a 90x75 input.
STAMP is written to OUT_DIR/stamp.txt last, so a complete folder can be reused.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import export_weights  # noqa: E402

SEED = 1234
RESNET_LAYERS = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
MNV2_LAYERS = [f"features.{i}" for i in range(19)] + ["classifier"]
TF_CONVS = ["features.0.0", "features.2.conv.1.0", "features.4.conv.1.0", "features.7.conv.1.0",
            "features.14.conv.1.0"]


def tapped(model, layers, x):
    """Each named module's output (cloned at once: torchvision's ReLUs work in place) and the logits."""
    out, handles = {}, []
    for name in layers:
        handles.append(model.get_submodule(name).register_forward_hook(
            lambda m, i, o, name=name: out.__setitem__(name, o.detach().clone())))
    with torch.no_grad():
        logits = model(x)
    for h in handles:
        h.remove()
    return out, logits


def tf_same_pad(n, k, s):
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def apply_tf_same(model, readme_exact):
    """padding=0 on the five stride-2 convolutions and TF SAME padding of their input:
    readme_exact -> F.pad(x, (0,1,0,1)) as the weights README says (even sizes only); else the
    general rule per dimension."""
    def hook(module, inputs):
        x = inputs[0]
        if readme_exact:
            assert x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0
            return (F.pad(x, (0, 1, 0, 1)),)
        top, bottom = tf_same_pad(x.shape[2], 3, 2)
        left, right = tf_same_pad(x.shape[3], 3, 2)
        return (F.pad(x, (left, right, top, bottom)),)

    for name in TF_CONVS:
        conv = model.get_submodule(name)
        assert conv.stride == (2, 2) and conv.kernel_size == (3, 3)
        conv.padding = (0, 0)
        conv.register_forward_pre_hook(hook)
    return model


def save_ref(path, x, feats, logits):
    tensors = {"input": x, "logits": logits}
    tensors.update({f"layer.{k}": v for k, v in feats.items()})
    export_weights.write_safetensors(path, tensors)


def make_random(out):
    g = torch.Generator().manual_seed(SEED + 7)
    for arch, layers in (("resnet18", RESNET_LAYERS), ("resnet34", RESNET_LAYERS), ("wide_resnet50_2", RESNET_LAYERS),
                         ("mobilenet_v2", MNV2_LAYERS)):
        export_weights.main([arch, "--random-seed", str(SEED), "--out", os.path.join(out, f"{arch}.safetensors")])
        model = export_weights.random_model(arch, SEED)
        x = torch.randn(2, 3, 64, 64, generator=g)
        feats, logits = tapped(model, layers, x)
        save_ref(os.path.join(out, f"{arch}_ref.safetensors"), x, feats, logits)
        if arch == "mobilenet_v2":
            scripted = torch.jit.script(model)
            torch.jit.save(scripted, os.path.join(out, "mobilenet_v2.pt"),
                           _extra_files={"adbench.json": json.dumps({"mean": "[0.5, 0.5, 0.5]",
                                                                     "std": "[0.25, 0.25, 0.25]"})})
            export_weights.main([arch, "--random-seed", str(SEED), "--tf-same", "--mean", "[0.5,0.5,0.5]",
                                 "--std", "[0.5,0.5,0.5]",
                                 "--out", os.path.join(out, "mobilenet_v2_tfsame.safetensors")])
            model = apply_tf_same(export_weights.random_model(arch, SEED), readme_exact=False)
            x = torch.randn(2, 3, 90, 75, generator=g)
            feats, logits = tapped(model, layers, x)
            save_ref(os.path.join(out, "mobilenet_v2_tfsame_ref.safetensors"), x, feats, logits)


def synthetic_input(h, w):
    """A deterministic smooth colour pattern in [-1, 1] (already normalised)."""
    yy = torch.linspace(0, 1, h).view(h, 1).expand(h, w)
    xx = torch.linspace(0, 1, w).view(1, w).expand(h, w)
    r = torch.sin(6.0 * xx + 2.0 * yy)
    gch = torch.cos(9.0 * yy - 3.0 * xx * yy)
    b = torch.sin(4.0 * (xx - 0.5) ** 2 * 10.0 + 5.0 * yy)
    return torch.stack([r, gch, b]).unsqueeze(0).float()


def make_shared(out, weights):
    sd = {}
    with open(weights, "rb") as f:  # read with our own reader: no safetensors package on Debian
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    dt = {"F32": torch.float32, "I64": torch.int64}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        sd[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dt[v["dtype"]]).reshape(v["shape"]).clone()
    for exact, (h, w), name in ((True, (224, 224), "shared_ref_224.safetensors"),
                                (False, (90, 75), "shared_ref_90x75.safetensors")):
        model = torchvision.models.mobilenet_v2(weights=None)
        model.load_state_dict(sd, strict=True)
        model = apply_tf_same(model.eval(), readme_exact=exact)
        x = synthetic_input(h, w)
        feats, logits = tapped(model, ["features.18"], x)
        save_ref(os.path.join(out, name), x, feats, logits)


def main():
    mode, out, stamp = sys.argv[1], sys.argv[2], sys.argv[3]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(out, exist_ok=True)
    stamp_file = os.path.join(out, "stamp.txt")
    if os.path.exists(stamp_file):
        os.remove(stamp_file)
    if mode == "random":
        make_random(out)
    elif mode == "shared":
        make_shared(out, sys.argv[4])
    else:
        raise SystemExit(f"make_reference.py: unknown mode {mode}")
    with open(stamp_file, "w") as f:
        f.write(stamp)


if __name__ == "__main__":
    main()
