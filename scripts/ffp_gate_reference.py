#!/usr/bin/env python3
"""Independent PyTorch reference for the ffp gate of issue 9 (tests/bench/test_video_gate.cpp).

Trains FFP's U-Net (4 frames stacked as 12 channels, levels of two 3x3 conv + ReLU, 2x2 max pool,
2x2 stride-2 ConvTranspose + ReLU, skip concat, 3x3 conv to 3 channels, tanh; Xavier-uniform
weights, zero biases) with L2 + gradient loss and Adam on the training videos of an
`adbench synth --kind video` folder (IPAD layout), then scores every test frame by -PSNR and
evaluates with the frame protocol (first 4 frames of each video dropped, per-video min-max,
videos concatenated) and per anomaly type (that type's frames against every normal frame), as
the C++ test does. Clips are drawn uniformly at random (adbench streams them in a shuffled
order): the numbers agree in range, not digit for digit.

    adbench synth --kind video --out /tmp/vs --seed 0
    /usr/bin/python3 scripts/ffp_gate_reference.py /tmp/vs --iterations 2500 --lr 1e-3

Needs Debian's python3-torch, python3-numpy, python3-sklearn, python3-pil; never used by adbench.
"""
import argparse, json, os, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score

T = 4  # input frames


def load_video(folder, size):
    n = len(os.listdir(folder))
    frames = [np.asarray(Image.open(os.path.join(folder, f"{i}.png")).convert("RGB")) for i in range(n)]
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if x.shape[-1] != size:  # OpenCV INTER_LINEAR at an exact 2x: the 2x2 mean, as here
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


class UNet(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.enc, self.up, self.dec = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        cin = 3 * T
        for c in widths:
            self.enc.append(nn.Sequential(nn.Conv2d(cin, c, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(c, c, 3, padding=1), nn.ReLU()))
            cin = c
        for k in range(len(widths) - 1):
            self.up.append(nn.ConvTranspose2d(widths[k + 1], widths[k], 2, stride=2))
            self.dec.append(nn.Sequential(nn.Conv2d(2 * widths[k], widths[k], 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(widths[k], widths[k], 3, padding=1), nn.ReLU()))
        self.out = nn.Conv2d(widths[0], 3, 3, padding=1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        skips = []
        for level, enc in enumerate(self.enc):
            x = enc(x)
            if level + 1 < len(self.enc):
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for k in reversed(range(len(self.up))):
            x = self.dec[k](torch.cat([skips[k], F.relu(self.up[k](x))], 1))
        return torch.tanh(self.out(x))


def gradient_loss(p, g):
    def grads(x):
        h, w = x.shape[2:]
        q = F.pad(x, (0, 1, 0, 1))
        return (q[:, :, :h, 1:w + 1] - q[:, :, :h, :w]).abs(), (q[:, :, :h, :w] - q[:, :, 1:h + 1, :w]).abs()
    pdx, pdy = grads(p)
    gdx, gdy = grads(g)
    return ((gdx - pdx).abs() + (gdy - pdy).abs()).mean()


def neg_psnr(net, videos):
    out = []
    with torch.no_grad():
        for x in videos:
            inp = torch.stack([x[i:i + T].flatten(0, 1) for i in range(x.shape[0] - T)])
            mse = (((net(inp) - x[T:]) * 0.5) ** 2).flatten(1).mean(1).double()
            out.append(10 * torch.log10(mse).numpy())  # frames T.. only
    return out


def evaluate(scores, labels, anomalies):
    s, y, types = [], [], []
    for sc, lab, an in zip(scores, labels, anomalies):
        s.append((sc - sc.min()) / (sc.max() - sc.min()))
        y.append(lab[T:])
        t = np.array([""] * len(lab), dtype=object)
        for a in an:
            t[a["first_frame"]:a["last_frame"] + 1] = a["type"]
        types.append(t[T:])
    s, y, types = np.concatenate(s), np.concatenate(y), np.concatenate(types)
    res = {"all": roc_auc_score(y, s)}
    for t in sorted(set(types) - {""}):
        m = (y == 0) | (types == t)
        res[t] = roc_auc_score(y[m], s[m])
    return {k: round(float(v), 4) for k, v in res.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--scene", default="S01")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--widths", default="8,16,32")
    ap.add_argument("--iterations", type=int, default=2500)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report-every", type=int, default=500)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    torch.set_num_threads(a.threads)
    scene = os.path.join(a.root, a.scene)
    train_dir, test_dir = os.path.join(scene, "training/frames"), os.path.join(scene, "testing/frames")
    train = [load_video(os.path.join(train_dir, v), a.size) for v in sorted(os.listdir(train_dir))]
    names = sorted(os.listdir(test_dir))
    test = [load_video(os.path.join(test_dir, v), a.size) for v in names]
    labels = [np.load(os.path.join(scene, "test_label", f"{int(v):03d}.npy")).ravel() for v in names]
    meta = {v["name"]: v["anomalies"] for v in json.load(open(os.path.join(scene, "test_anomalies.json")))["videos"]}
    anomalies = [meta[v] for v in names]
    net = UNet([int(w) for w in a.widths.split(",")])
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    clips = [(v, s) for v in range(len(train)) for s in range(train[v].shape[0] - T)]
    print("untrained", evaluate(neg_psnr(net, test), labels, anomalies), flush=True)
    t0 = time.time()
    for it in range(1, a.iterations + 1):
        pick = rng.integers(len(clips), size=a.batch)
        x = torch.stack([train[clips[i][0]][clips[i][1]:clips[i][1] + T + 1] for i in pick])
        p, g = net(x[:, :T].flatten(1, 2)), x[:, T]
        loss = ((p - g) ** 2).mean() + gradient_loss(p, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % a.report_every == 0 or it == a.iterations:
            print(f"iteration {it} loss {float(loss):.5f} train {time.time() - t0:.1f} s",
                  evaluate(neg_psnr(net, test), labels, anomalies), flush=True)


if __name__ == "__main__":
    main()
