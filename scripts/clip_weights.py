"""CLIP checkpoints -> the tensors and metadata that adbench's load_clip reads (used by
export_weights.py clip). Needs torch only.

OpenAI CLIP releases TorchScript archives (ViT-B-16.pt, ViT-L-14-336px.pt: fp16, keys
`visual.*`, `token_embedding.weight`, ..., plus `input_resolution`, `context_length`, `vocab_size`);
OpenCLIP releases state dicts (torch.save, possibly under "state_dict" with a "module." prefix).
Tensors keep their dtype (adbench upcasts fp16); the non-parameters above and `logit_scale` are
dropped. Metadata: architecture (a known name when shapes and activation match one, else
"custom"), activation (gelu / quick_gelu), vision_heads, text_heads, mean, std, source.
"""
import json
import math

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# name: (vision width, layers, patch, image size, text width, embed dim, activation)
KNOWN = {
    "openclip_vit_b_16_plus_240": (896, 12, 16, 240, 640, 640, "gelu"),
    "openai_vit_b_16": (768, 12, 16, 224, 512, 512, "quick_gelu"),
    "openai_vit_l_14_336": (1024, 24, 14, 336, 768, 768, "quick_gelu"),
}
DROPPED = ("input_resolution", "context_length", "vocab_size", "logit_scale")


def load_checkpoint(path):
    """(state_dict, is_torchscript)."""
    import torch

    try:
        return dict(torch.jit.load(path, map_location="cpu").state_dict()), True
    except RuntimeError:
        pass
    sd = torch.load(path, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise SystemExit(f"export_weights: {path}: neither a TorchScript archive nor a state dict")
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd, False


def shape_of(sd, path):
    for k in ("visual.conv1.weight", "visual.positional_embedding", "ln_final.weight", "text_projection"):
        if k not in sd:
            raise SystemExit(f"export_weights: {path}: no tensor '{k}': not an OpenAI CLIP / OpenCLIP ViT checkpoint")
    layers = 0
    while f"visual.transformer.resblocks.{layers}.ln_1.weight" in sd:
        layers += 1
    conv = sd["visual.conv1.weight"]
    grid = int(round(math.sqrt(sd["visual.positional_embedding"].shape[0] - 1)))
    return (conv.shape[0], layers, conv.shape[-1], grid * conv.shape[-1], sd["ln_final.weight"].shape[0],
            sd["text_projection"].shape[1])


def convert(path, activation=None, vision_heads=None, text_heads=None, source=None):
    """(tensors, metadata) for write_safetensors."""
    sd, scripted = load_checkpoint(path)
    shape = shape_of(sd, path)
    match = next((n for n, k in KNOWN.items() if k[:6] == shape), None)
    if activation is None:
        if scripted:
            activation = "quick_gelu"  # OpenAI's releases
        elif match == "openclip_vit_b_16_plus_240":
            activation = "gelu"
        else:
            raise SystemExit(f"export_weights: {path}: an OpenCLIP state dict needs --activation gelu or quick_gelu "
                             "(OpenCLIP's '-quickgelu' models and OpenAI-pretrained ones use quick_gelu)")
    name = match if match and KNOWN[match][6] == activation else "custom"
    tensors = {k: v for k, v in sd.items() if k not in DROPPED}
    meta = {"format": "pt", "architecture": name, "activation": activation,
            "vision_heads": str(vision_heads or shape[0] // 64), "text_heads": str(text_heads or shape[4] // 64),
            "mean": json.dumps(CLIP_MEAN), "std": json.dumps(CLIP_STD),
            "source": source or f"{'OpenAI TorchScript' if scripted else 'state dict'} {path}",
            "exporter": "adbench scripts/export_weights.py clip"}
    return tensors, meta


# AnomalyCLIP's prompt learner (official repository zqhang/AnomalyCLIP, prompt_ensemble.py): the
# checkpoint is torch.save({"prompt_learner": state_dict}). Kept: the learned contexts, the deep
# text prompts and the buffers that the official test loads with them (prefix = start token's
# embedding, suffix = the embeddings after the contexts, the tokenized prompts whose argmax is the
# end token). Dropped: compound_prompt_projections.* (created, saved, never used at inference).
ANOMALYCLIP_KEYS = ("ctx_pos", "ctx_neg", "token_prefix_pos", "token_suffix_pos", "token_prefix_neg",
                    "token_suffix_neg", "tokenized_prompts_pos", "tokenized_prompts_neg")


def convert_anomalyclip(path, source=None):
    """(tensors, metadata) of an AnomalyCLIP prompt checkpoint for write_safetensors."""
    import torch

    ckpt = torch.load(path, map_location="cpu")
    if not isinstance(ckpt, dict) or "prompt_learner" not in ckpt:
        raise SystemExit(f"export_weights: {path}: no 'prompt_learner' entry: not an AnomalyCLIP checkpoint")
    sd = ckpt["prompt_learner"]
    missing = [k for k in ANOMALYCLIP_KEYS if k not in sd]
    if missing:
        raise SystemExit(f"export_weights: {path}: AnomalyCLIP prompt learner without {', '.join(missing)}")
    tensors = {k: sd[k] for k in ANOMALYCLIP_KEYS}
    depth = 0
    while f"compound_prompts_text.{depth}" in sd:
        tensors[f"compound_prompts_text.{depth}"] = sd[f"compound_prompts_text.{depth}"]
        depth += 1
    unknown = [k for k in sd if k not in tensors and not k.startswith("compound_prompt_projections.")]
    if unknown:
        raise SystemExit(f"export_weights: {path}: unexpected prompt learner tensors {', '.join(sorted(unknown))}")
    for k in ("tokenized_prompts_pos", "tokenized_prompts_neg"):
        tensors[k] = tensors[k].to(torch.int64)
    meta = {"format": "pt", "kind": "anomalyclip_prompts",
            "n_ctx": str(tensors["ctx_pos"].shape[-2]), "deep_prompts": str(depth),
            "deep_prompt_length": str(tensors["compound_prompts_text.0"].shape[0] if depth else 0),
            "source": source or f"AnomalyCLIP prompt learner {path}",
            "exporter": "adbench scripts/export_weights.py anomalyclip"}
    return tensors, meta
