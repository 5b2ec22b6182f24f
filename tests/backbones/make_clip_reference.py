#!/usr/bin/env python3
"""Reference data for test_clip: an independent CLIP written here with torch.nn.MultiheadAttention,
LayerNorm and Linear under the checkpoints' names (sequence-first, as OpenAI's code), seeded random
weights, synthetic checkpoints in the official layouts converted by scripts/export_weights.py clip.

  make_clip_reference.py clip OUT_DIR STAMP
  make_clip_reference.py anomalyclip OUT_DIR STAMP   (AnomalyCLIP: see make_anomalyclip_case)

For each case <c> it writes <c>.safetensors (converted weights) and <c>_ref.safetensors:
  images, image_embeds        native-size images [2,3,S,S] and encode_image
  vision_layer.K              output of vision block K (batch-first [2,L,W])
  projected_tokens            ln_post(last block) @ proj for every token [2,L,E]
  subset_index, subset_last   rows {0 (class), ...} of the embedded tokens through the transformer
  ids, text_embeds            token ids [3,ctx] (EOT = max id at varying places) and encode_text
  images_interp, image_embeds_interp   (tiny cases) a non-native size, positions interpolated
Cases: tiny_gelu (OpenCLIP state dict, "module." prefix, fp32), tiny_quick_gelu (TorchScript, fp16),
and each real width with 2 blocks per tower: b16plus (gelu, state dict, full vocabulary), b16 and
l14_336 (quick_gelu, TorchScript fp16, vocabulary 1000). fp16 checkpoints' references use the
fp16-rounded weights in float32. STAMP is written last.
"""
import collections
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import export_weights  # noqa: E402

# name: vision (width, layers, heads, patch, image), text (width, layers, heads, ctx, vocab), embed,
#       activation, layout, fp16, extra conversion arguments
CASES = {
    "tiny_gelu": ((64, 2, 4, 8, 32), (48, 2, 3, 16, 300), 32, "gelu", "state_dict", False,
                  ["--activation", "gelu", "--vision-heads", "4", "--text-heads", "3"]),
    "tiny_quick_gelu": ((64, 2, 4, 8, 32), (48, 2, 3, 16, 300), 32, "quick_gelu", "torchscript", True,
                        ["--vision-heads", "4", "--text-heads", "3"]),
    "b16plus": ((896, 2, 14, 16, 240), (640, 2, 10, 77, 49408), 640, "gelu", "state_dict", False,
                ["--activation", "gelu"]),
    "b16": ((768, 2, 12, 16, 224), (512, 2, 8, 77, 1000), 512, "quick_gelu", "torchscript", True, []),
    "l14_336": ((1024, 2, 16, 14, 336), (768, 2, 12, 77, 1000), 768, "quick_gelu", "torchscript", True, []),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, w, h, act):
        super().__init__()
        self.attn = nn.MultiheadAttention(w, h)
        self.ln_1 = nn.LayerNorm(w)
        self.mlp = nn.Sequential(collections.OrderedDict(
            [("c_fc", nn.Linear(w, 4 * w)), ("gelu", nn.GELU() if act == "gelu" else QuickGELU()),
             ("c_proj", nn.Linear(4 * w, w))]))
        self.ln_2 = nn.LayerNorm(w)

    def forward(self, x, mask=None):  # x: [L, N, W]
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, w, layers, h, act):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(w, h, act) for _ in range(layers)])


class Visual(nn.Module):
    def __init__(self, w, layers, h, patch, image, embed, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(w) * w ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((image // patch) ** 2 + 1, w) * w ** -0.5)
        self.ln_pre = nn.LayerNorm(w)
        self.transformer = Transformer(w, layers, h, act)
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Parameter(torch.randn(w, embed) * w ** -0.5)


class Clip(nn.Module):
    def __init__(self, vision, text, embed, act):
        super().__init__()
        self.visual = Visual(*vision, embed, act)
        tw, tl, th, ctx, vocab = text
        self.token_embedding = nn.Embedding(vocab, tw)
        self.positional_embedding = nn.Parameter(torch.randn(ctx, tw) * 0.01)
        self.transformer = Transformer(tw, tl, th, act)
        self.ln_final = nn.LayerNorm(tw)
        self.text_projection = nn.Parameter(torch.randn(tw, embed) * tw ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))

    def forward(self, x):  # only so that torch.jit.trace keeps every parameter
        return x * self.logit_scale


def randomize(model, g):
    """Non-trivial LayerNorm affine parameters and biases, so that the test exercises them."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or "ln_" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def positions(visual, gh, gw):
    pos = visual.positional_embedding
    g = int(round((pos.shape[0] - 1) ** 0.5))
    if (gh, gw) == (g, g):
        return pos
    grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(gh, gw), mode="bilinear", align_corners=False)
    return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)])


def embed(visual, images):
    x = visual.conv1(images)
    gh, gw = x.shape[2], x.shape[3]
    x = x.flatten(2).permute(0, 2, 1)
    cls = visual.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, -1)
    return torch.cat([cls, x], 1) + positions(visual, gh, gw)


def run_blocks(transformer, x, mask=None):
    """x batch-first; returns every block's output, batch-first."""
    x = x.permute(1, 0, 2)
    outs = []
    for blk in transformer.resblocks:
        x = blk(x, mask)
        outs.append(x.permute(1, 0, 2))
    return outs


def encode_image(visual, images):
    outs = run_blocks(visual.transformer, visual.ln_pre(embed(visual, images)))
    return visual.ln_post(outs[-1][:, 0]) @ visual.proj, outs


def encode_text(model, ids):
    L = ids.shape[1]
    x = model.token_embedding(ids) + model.positional_embedding[:L]
    mask = torch.empty(L, L).fill_(float("-inf")).triu_(1)
    x = model.ln_final(run_blocks(model.transformer, x, mask)[-1])
    return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ model.text_projection


def make_case(out_dir, name, seed):
    vision, text, embed_dim, act, layout, fp16, conv_args = CASES[name]
    torch.manual_seed(seed)
    model = Clip(vision, text, embed_dim, act).eval()
    randomize(model, torch.Generator().manual_seed(seed + 1))
    ckpt = os.path.join(out_dir, name + (".pt" if layout == "torchscript" else ".bin"))
    if layout == "torchscript":
        for k, v in (("input_resolution", vision[4]), ("context_length", text[3]), ("vocab_size", text[4])):
            model.register_buffer(k, torch.tensor(v))  # as in OpenAI's archives
        m = model.half() if fp16 else model
        traced = torch.jit.trace(m, torch.ones(1, dtype=torch.float16 if fp16 else torch.float32))
        traced.save(ckpt)
        model = model.float()
    else:
        torch.save({"epoch": 1, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, ckpt)
    export_weights.main(["clip", "--checkpoint", ckpt, "--out", os.path.join(out_dir, name + ".safetensors")]
                        + conv_args)
    os.remove(ckpt)

    g = torch.Generator().manual_seed(seed + 2)
    size = vision[4]
    images = torch.randn(2, 3, size, size, generator=g)
    ctx, vocab = text[3], text[4]
    ids = torch.randint(1, vocab - 1, (3, ctx), generator=g)
    for row, eot in enumerate((5, ctx - 1, 1)):
        ids[row, eot] = vocab - 1
        ids[row, eot + 1:] = 0
    ref = {"images": images, "ids": ids}
    with torch.no_grad():
        emb, outs = encode_image(model.visual, images)
        ref["image_embeds"] = emb
        for k, o in enumerate(outs):
            ref[f"vision_layer.{k + 1}"] = o
        ref["projected_tokens"] = model.visual.ln_post(outs[-1]) @ model.visual.proj
        n = embed(model.visual, images).shape[1]
        index = torch.tensor([0, 1, 2, n // 2, n - 1])
        ref["subset_index"] = index
        ref["subset_last"] = run_blocks(model.visual.transformer,
                                        model.visual.ln_pre(embed(model.visual, images)[:, index]))[-1]
        ref["text_embeds"] = encode_text(model, ids)
        if name.startswith("tiny"):
            p = vision[3]
            images_interp = torch.randn(2, 3, 6 * p, 5 * p, generator=g)
            ref["images_interp"] = images_interp
            ref["image_embeds_interp"] = encode_image(model.visual, images_interp)[0]
    export_weights.write_safetensors(os.path.join(out_dir, name + "_ref.safetensors"), ref)


# ---------------------------------------------------------------------------------------------
# AnomalyCLIP (mode "anomalyclip"), written from the official code's description: a prompt learner
# checkpoint in the official layout (torch.save({"prompt_learner": state_dict}) with the unused
# compound_prompt_projections), the text tower with deep prompts replacing rows 1..t before blocks
# 2.., and the DPAM vision path. Sequence-first tensors as in OpenAI's code.
#
# name: CLIP case geometry as CASES, n_ctx, deep prompts (count, length), dpam_layer, taps, input size
AC_CASES = {
    "ac_tiny": (((64, 4, 4, 8, 32), (48, 3, 3, 16, 300), 32, "quick_gelu"), 4, (2, 2), 3, (2, 4), 40),
    "ac_l14": (((1024, 3, 16, 14, 336), (768, 3, 12, 77, 1000), 768, "quick_gelu"), 12, (2, 4), 3, (3,), 126),
}


def vv_and_ori(attn, x):
    """DPAM attention on x [L, N, W]: (value-value, ordinary), both through out_proj."""
    L, N, W = x.shape
    h = attn.num_heads
    d = W // h
    q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    split = lambda t: t.reshape(L, N * h, d).transpose(0, 1)  # noqa: E731  [N*h, L, d]
    q, k, v = split(q), split(k), split(v)
    merge = lambda t: t.transpose(0, 1).reshape(L, N, W)  # noqa: E731
    ori = torch.softmax(q @ k.transpose(1, 2) * d ** -0.5, dim=-1) @ v
    vv = torch.softmax(v @ v.transpose(1, 2) * d ** -0.5, dim=-1) @ v
    return attn.out_proj(merge(vv)), attn.out_proj(merge(ori))


def dpam_forward(visual, images, dpam_layer, taps):
    """(class token of the ordinary path after the last block, {tap: DPAM-path tokens batch-first})."""
    x = visual.ln_pre(embed(visual, images)).permute(1, 0, 2)
    blocks = list(visual.transformer.resblocks)
    dual = set(range(len(blocks) - (dpam_layer - 1), len(blocks)))  # the official resblocks[-1..-(d-1)]
    path = None
    taken = {}
    for i, blk in enumerate(blocks):
        if i in dual:
            a_vv, a_ori = vv_and_ori(blk.attn, blk.ln_1(x))
            path = (x if path is None else path) + a_vv
            x = x + a_ori
            x = x + blk.mlp(blk.ln_2(x))
        else:
            x = blk(x)
        if i + 1 in taps:
            taken[i + 1] = (x if path is None else path).permute(1, 0, 2)
    return x[0], taken


def text_with_deep_prompts(model, prompts, eot, deep):
    L = prompts.shape[1]
    mask = torch.empty(L, L).fill_(float("-inf")).triu_(1)
    x = (prompts + model.positional_embedding[:L]).permute(1, 0, 2)
    for i, blk in enumerate(model.transformer.resblocks):
        if 1 <= i <= len(deep):
            t = deep[i - 1].shape[0]
            x = torch.cat([x[:1], deep[i - 1].unsqueeze(1).expand(-1, x.shape[1], -1), x[1 + t:]])
        x = blk(x, mask)
    x = model.ln_final(x.permute(1, 0, 2))
    return x[torch.arange(x.shape[0]), eot] @ model.text_projection


def make_anomalyclip_case(out_dir, name, seed):
    (vision, text, embed_dim, act), n_ctx, (n_deep, t_len), dpam_layer, taps, size = AC_CASES[name]
    torch.manual_seed(seed)
    model = Clip(vision, text, embed_dim, act).eval()
    randomize(model, torch.Generator().manual_seed(seed + 1))
    ckpt = os.path.join(out_dir, name + "_clip.bin")
    torch.save(model.state_dict(), ckpt)
    export_weights.main(["clip", "--checkpoint", ckpt, "--out", os.path.join(out_dir, name + "_clip.safetensors"),
                         "--activation", act, "--vision-heads", str(vision[2]), "--text-heads", str(text[2])])
    os.remove(ckpt)

    g = torch.Generator().manual_seed(seed + 2)
    tw, ctx_len, vocab = text[0], text[3], text[4]
    learner = {}
    ids_of = {}
    for state, words in (("pos", 2), ("neg", 3)):  # "object." and "damaged object."
        ids = torch.zeros(ctx_len, dtype=torch.int64)
        ids[0] = vocab - 2  # the start token
        ids[1:1 + n_ctx + words] = torch.randint(1, vocab - 2, (n_ctx + words,), generator=g)
        ids[1 + n_ctx + words] = vocab - 1  # the end token, the largest id
        ids_of[state] = ids
        with torch.no_grad():
            emb = model.token_embedding(ids)
        learner[f"ctx_{state}"] = 0.02 * torch.randn(1, 1, n_ctx, tw, generator=g)
        learner[f"token_prefix_{state}"] = emb[:1].reshape(1, 1, 1, tw).clone()
        learner[f"token_suffix_{state}"] = emb[1 + n_ctx:].reshape(1, 1, -1, tw).clone()
        learner[f"tokenized_prompts_{state}"] = ids.reshape(1, 1, -1)
    deep = [0.02 * torch.randn(t_len, tw, generator=g) for _ in range(n_deep)]
    for i, d in enumerate(deep):
        learner[f"compound_prompts_text.{i}"] = d
        learner[f"compound_prompt_projections.{i}.weight"] = torch.randn(896, tw, generator=g)
        learner[f"compound_prompt_projections.{i}.bias"] = torch.randn(896, generator=g)
    ckpt = os.path.join(out_dir, name + "_prompts.pth")
    torch.save({"prompt_learner": learner, "epoch": 15}, ckpt)
    export_weights.main(["anomalyclip", "--checkpoint", ckpt, "--out",
                         os.path.join(out_dir, name + "_prompts.safetensors")])
    os.remove(ckpt)

    images = torch.randn(2, 3, size, size, generator=g)
    ref = {"images": images}
    with torch.no_grad():
        prompts = torch.stack([torch.cat([learner[f"token_prefix_{s}"][0, 0], learner[f"ctx_{s}"][0, 0],
                                          learner[f"token_suffix_{s}"][0, 0]]) for s in ("pos", "neg")])
        eot = torch.stack([ids_of["pos"].argmax(), ids_of["neg"].argmax()])
        tf = text_with_deep_prompts(model, prompts, eot, deep)
        tf = tf / tf.norm(dim=-1, keepdim=True)
        ref["text_features"] = tf
        cls, taken = dpam_forward(model.visual, images, dpam_layer, taps)
        ref["image_embeds"] = cls @ model.visual.proj  # no ln_post, as the official code
        e = ref["image_embeds"] / ref["image_embeds"].norm(dim=-1, keepdim=True)
        ref["image_scores"] = torch.softmax(e @ tf.t() / 0.07, dim=-1)[:, 1]
        grid = size // vision[3]
        total = torch.zeros(2, grid * grid)
        for t, tokens in taken.items():
            ref[f"dpam_layer.{t}"] = tokens
            p = model.visual.ln_post(tokens[:, 1:]) @ model.visual.proj
            p = p / p.norm(dim=-1, keepdim=True)
            prob = torch.softmax(p @ tf.t() / 0.07, dim=-1)
            total += (prob[..., 1] + 1 - prob[..., 0]) / 2
        ref["patch_maps"] = total.reshape(2, grid, grid)
    export_weights.write_safetensors(os.path.join(out_dir, name + "_ref.safetensors"), ref)


def main():
    mode, out_dir, stamp = sys.argv[1:4]
    if mode not in ("clip", "anomalyclip"):
        raise SystemExit(f"make_clip_reference: unknown mode {mode}")
    os.makedirs(out_dir, exist_ok=True)
    stamp_file = os.path.join(out_dir, "stamp.txt")
    if os.path.exists(stamp_file):
        os.remove(stamp_file)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if mode == "anomalyclip":
        for i, name in enumerate(AC_CASES):
            make_anomalyclip_case(out_dir, name, 500 + 10 * i)
    else:
        for i, name in enumerate(CASES):
            make_case(out_dir, name, 100 + 10 * i)
    with open(stamp_file, "w") as f:
        f.write(stamp)


if __name__ == "__main__":
    main()
