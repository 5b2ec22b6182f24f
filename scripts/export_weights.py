#!/usr/bin/env python3
"""Export CNN weights to safetensors files that adbench's backbones load.

adbench never downloads anything: users with internet run this once and point adbench at the
file. The file holds the architecture's state_dict under torchvision's names (strictly checked by
adbench) and adbench's metadata keys:

  architecture  torchvision name: resnet18, resnet34, wide_resnet50_2 or mobilenet_v2
  mean, std     input normalisation on RGB in [0,1], JSON arrays as strings ("[0.485,0.456,0.406]")
  padding       "torchvision" (symmetric) or "tf_same" (mobilenet_v2 only: TF SAME on the five
                stride-2 convolutions)
  source        where the weights came from

Examples (Debian 12: run with /usr/bin/python3, which has python3-torch and python3-torchvision):
  # torchvision ImageNet weights (downloads into torch's cache):
  /usr/bin/python3 scripts/export_weights.py resnet18 --out weights/resnet18.safetensors
  /usr/bin/python3 scripts/export_weights.py wide_resnet50_2 --weights IMAGENET1K_V1 --out wrn50.safetensors
  # timm weights (pip install timm), renamed to torchvision's names by tensor order and shape:
  /usr/bin/python3 scripts/export_weights.py mobilenet_v2 --timm mobilenetv2_100 --out mnv2_timm.safetensors
  # seeded random weights, no internet (what the tests use):
  /usr/bin/python3 scripts/export_weights.py resnet18 --random-seed 0 --out r18_random.safetensors
  # CLIP (scripts/clip_weights.py): an OpenAI TorchScript archive or an OpenCLIP state dict
  /usr/bin/python3 scripts/export_weights.py clip --checkpoint ViT-B-16.pt --out openai_vit_b_16.safetensors
  /usr/bin/python3 scripts/export_weights.py clip --checkpoint open_clip_pytorch_model.bin --out b16plus.safetensors
  # AnomalyCLIP's learned prompts (the official checkpoints/9_12_4_multiscale/epoch_15.pth), with the
  # OpenAI ViT-L/14@336px CLIP converted as above:
  /usr/bin/python3 scripts/export_weights.py anomalyclip --checkpoint epoch_15.pth --out anomalyclip_prompts.safetensors

Only torch (and torchvision or timm for the architecture) are needed: the safetensors format
(8-byte little-endian header length, JSON header, raw little-endian data) is written here.
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ARCHS = ("resnet18", "resnet34", "wide_resnet50_2", "mobilenet_v2")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

_DTYPES = None


def _dtype_name(t):
    global _DTYPES
    import torch

    if _DTYPES is None:
        _DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
                   torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                   torch.uint8: "U8", torch.bool: "BOOL"}
    if t.dtype not in _DTYPES:
        raise SystemExit(f"export_weights: unsupported dtype {t.dtype}")
    return _DTYPES[t.dtype]


def _tensor_bytes(t):
    import torch

    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} and {str: str} metadata as a safetensors file (header padded to 8 bytes)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, t in tensors.items():
        data = _tensor_bytes(t)
        header[name] = {"dtype": _dtype_name(t), "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomize_batchnorm(model, generator):
    """Gives every BatchNorm random affine parameters and running statistics, so that a random
    model exercises them (torchvision initialises them to the identity)."""
    import torch

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)


def random_model(arch, seed):
    """torchvision's architecture with its own initialisation from torch.manual_seed(seed), then
    randomised BatchNorm parameters and statistics."""
    import torch
    import torchvision

    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    g = torch.Generator().manual_seed(seed + 1)
    randomize_batchnorm(model, g)
    return model.eval()


def _torchvision_model(arch, weights_name):
    import torchvision

    enum = torchvision.models.get_model_weights(arch)
    weights = enum.DEFAULT if weights_name in (None, "DEFAULT") else enum[weights_name]
    model = getattr(torchvision.models, arch)(weights=weights)
    tf = weights.transforms()
    return model, list(map(float, tf.mean)), list(map(float, tf.std)), f"torchvision {arch} {weights}"


def _timm_state_dict(arch, timm_name):
    """timm weights renamed to torchvision's keys: tensors are matched in state_dict order, and every
    pair must agree in shape (timm's resnets already use torchvision's names)."""
    import timm
    import torchvision

    model = timm.create_model(timm_name, pretrained=True)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", {})
    src = model.state_dict()
    ref = getattr(torchvision.models, arch)(weights=None).state_dict()
    if set(src) == set(ref):
        out = {k: src[k] for k in ref}
    else:
        s_items = [(k, v) for k, v in src.items() if not k.endswith("num_batches_tracked")]
        r_items = [(k, v) for k, v in ref.items() if not k.endswith("num_batches_tracked")]
        if len(s_items) != len(r_items):
            raise SystemExit(f"export_weights: timm {timm_name} has {len(s_items)} tensors, torchvision {arch} "
                             f"{len(r_items)}: not the same architecture")
        out = {}
        for (sk, sv), (rk, rv) in zip(s_items, r_items):
            if sv.shape != rv.shape:
                raise SystemExit(f"export_weights: timm {timm_name} tensor {sk} {list(sv.shape)} does not match "
                                 f"torchvision {rk} {list(rv.shape)}")
            out[rk] = sv
    mean = list(map(float, cfg.get("mean", IMAGENET_MEAN)))
    std = list(map(float, cfg.get("std", IMAGENET_STD)))
    return out, mean, std, f"timm {timm_name}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("arch", choices=ARCHS + ("clip", "anomalyclip"))
    p.add_argument("--out", required=True, help="output .safetensors file")
    p.add_argument("--weights", default=None, help="torchvision weights enum member (default: DEFAULT)")
    p.add_argument("--timm", metavar="NAME", help="take pretrained weights from timm model NAME instead")
    p.add_argument("--random-seed", type=int, metavar="S",
                   help="seeded random weights (torchvision init + random BatchNorm statistics); no internet")
    p.add_argument("--mean", help="override the normalisation mean, e.g. '[0.5,0.5,0.5]'")
    p.add_argument("--std", help="override the normalisation std")
    p.add_argument("--tf-same", action="store_true", help="record TF SAME padding (mobilenet_v2 only)")
    p.add_argument("--checkpoint", help="clip: OpenAI .pt (TorchScript) or OpenCLIP state dict; "
                   "anomalyclip: the official prompt checkpoint (epoch_15.pth)")
    p.add_argument("--activation", choices=("gelu", "quick_gelu"), help="clip: MLP activation")
    p.add_argument("--vision-heads", type=int, help="clip: attention heads (default width/64)")
    p.add_argument("--text-heads", type=int, help="clip: attention heads (default width/64)")
    a = p.parse_args(argv)

    if a.arch == "clip":
        import clip_weights

        if not a.checkpoint:
            p.error("clip needs --checkpoint")
        tensors, metadata = clip_weights.convert(a.checkpoint, a.activation, a.vision_heads, a.text_heads)
        write_safetensors(a.out, tensors, metadata)
        print(f"export_weights: wrote {a.out} ({len(tensors)} tensors, {metadata['architecture']}, "
              f"{metadata['activation']})", file=sys.stderr)
        return

    if a.arch == "anomalyclip":
        import clip_weights

        if not a.checkpoint:
            p.error("anomalyclip needs --checkpoint")
        tensors, metadata = clip_weights.convert_anomalyclip(a.checkpoint)
        write_safetensors(a.out, tensors, metadata)
        print(f"export_weights: wrote {a.out} ({len(tensors)} tensors, {metadata['n_ctx']} context tokens, "
              f"{metadata['deep_prompts']} deep prompts)", file=sys.stderr)
        return

    if a.tf_same and a.arch != "mobilenet_v2":
        p.error("--tf-same is only for mobilenet_v2")
    if a.random_seed is not None:
        sd = random_model(a.arch, a.random_seed).state_dict()
        mean, std, source = IMAGENET_MEAN, IMAGENET_STD, f"random: torchvision init, torch.manual_seed({a.random_seed})"
    elif a.timm:
        sd, mean, std, source = _timm_state_dict(a.arch, a.timm)
    else:
        model, mean, std, source = _torchvision_model(a.arch, a.weights)
        sd = model.state_dict()
    if a.mean:
        mean = json.loads(a.mean)
    if a.std:
        std = json.loads(a.std)
    metadata = {"format": "pt", "architecture": a.arch, "mean": json.dumps(mean), "std": json.dumps(std),
                "padding": "tf_same" if a.tf_same else "torchvision", "source": source,
                "exporter": "adbench scripts/export_weights.py"}
    write_safetensors(a.out, {k: v for k, v in sd.items()}, metadata)
    print(f"export_weights: wrote {a.out} ({len(sd)} tensors)", file=sys.stderr)


if __name__ == "__main__":
    main()
