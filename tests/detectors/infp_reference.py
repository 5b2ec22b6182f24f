#!/usr/bin/python3
"""Independent reference numbers for tests/detectors/test_infp.cpp (numpy only, float64).

1. INFP's loss terms (MSE, gradient loss, MS-SSIM with and without the official code's product
   quirk) on two closed-form image pairs, re-derived here from the description of
   utils/loss_util.py in lib/detectors/src/infp/README.md.
2. The parameter count of the official INFP network (models/wresnet1024_cattn_tsm.py, mfusion.py,
   models/wider_resnet.py) at 224 x 288 with 4 input frames, counted layer by layer from the
   architecture (no framework: sums of weight and bias sizes).

Run: /usr/bin/python3 tests/detectors/infp_reference.py
"""
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


def images(kind, b=2, c=3, h=40, w=36):
    """The closed-form pair the C++ test builds too."""
    bb, cc, yy, xx = np.meshgrid(np.arange(b), np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    a = np.sin(0.3 * xx + 0.7 * yy + cc + 2.0 * bb) * 0.9
    t = 0.8 * a + 0.15 * np.cos(0.05 * xx * yy + cc)
    if kind == "unit":  # values in [0, 1]: dynamic range 1
        a = (a + 1) / 2
        t = (t + 1) / 2
    return a.astype(np.float64), t.astype(np.float64)


def window(n):
    g = np.array([math.exp(-((i - n // 2) ** 2) / (2 * 1.5**2)) for i in range(n)])
    g /= g.sum()
    return np.outer(g, g)


def filt(x, win):
    n = win.shape[0]
    v = sliding_window_view(x, (n, n), axis=(2, 3))  # [B,C,h',w',n,n]
    return np.einsum("bcijkl,kl->bcij", v, win)


def ssim_cs(a, b):
    h, w = a.shape[2:]
    n = min(11, h, w)
    win = window(n)
    L = (255 if a.max() > 128 else 1) - (-1 if a.min() < -0.5 else 0)
    mu1, mu2 = filt(a, win), filt(b, win)
    s1 = filt(a * a, win) - mu1**2
    s2 = filt(b * b, win) - mu2**2
    s12 = filt(a * b, win) - mu1 * mu2
    C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    cs_map = (2 * s12 + C2) / (s1 + s2 + C2)
    ssim_map = (2 * mu1 * mu2 + C1) / (mu1**2 + mu2**2 + C1) * cs_map
    return (ssim_map.mean() + 1) / 2, (cs_map.mean() + 1) / 2


def pool2(x):
    h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
    x = x[:, :, :h, :w]
    return (x[:, :, 0::2, 0::2] + x[:, :, 1::2, 0::2] + x[:, :, 0::2, 1::2] + x[:, :, 1::2, 1::2]) / 4


def msssim(a, b, quirk):
    ss, cs = [], []
    for s in range(5):
        x, y = ssim_cs(a, b)
        ss.append(x)
        cs.append(y)
        a, b = pool2(a), pool2(b)
    prod_cs = np.prod([cs[i] ** WEIGHTS[i] for i in range(4)])
    last = ss[4] ** WEIGHTS[4]
    return prod_cs * (last**4 if quirk else last)


def gradient_loss(p, t):
    def dx(x):
        xp = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 1)))
        return np.abs(xp[:, :, :, 1:] - xp[:, :, :, :-1])

    def dy(x):
        xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 0)))
        return np.abs(xp[:, :, :-1, :] - xp[:, :, 1:, :])

    return np.mean(np.abs(dx(t) - dx(p)) + np.abs(dy(t) - dy(p)))


# ----------------------------------------------------------------------------------------------
# Parameter count of the official network, layer by layer.


def conv(cin, cout, k, bias):
    return cin * cout * k * k + (cout if bias else 0)


def bn(c):
    return 2 * c


def linear(cin, cout, bias):
    return cin * cout + (cout if bias else 0)


def wrn38_a2():
    n = conv(3, 64, 3, False)
    cin = 64
    widths = [(128, 128), (256, 256), (512, 512), (512, 1024), (512, 1024, 2048), (1024, 2048, 4096)]
    for mod, blocks in enumerate([3, 3, 6, 3, 1, 1]):
        ch = widths[mod]
        for blk in range(blocks):
            stride = 2 if (blk == 0 and mod == 2) else 1
            n += bn(cin)
            if len(ch) == 2:
                n += conv(cin, ch[0], 3, False) + bn(ch[0]) + conv(ch[0], ch[1], 3, False)
            else:
                n += conv(cin, ch[0], 1, False) + bn(ch[0]) + conv(ch[0], ch[1], 3, False) + bn(ch[1])
                n += conv(ch[1], ch[2], 1, False)
            if stride != 1 or cin != ch[-1]:
                n += conv(cin, ch[-1], 1, False)
            cin = ch[-1]
    return n  # the wrapper keeps mod1..mod7 only (no bn_out, no classifier)


def se(c, r):
    return linear(c, c // r, True) + linear(c // r, c, True)


def fusion(c):
    spa = 3 * conv(c, c, 3, True)
    branch = conv(c, c, 1, True) + se(c, 8) + conv(c, c, 1, True)
    freq = spa + 2 * branch + conv(2 * c, c, 1, True)
    ctx = 4 * conv(c, c, 1, True) + se(c, 1)
    return freq + ctx


def trajectory_filter(dim, size0, size1):
    med = 2 * dim
    hidden = int(0.25 * dim)
    return (linear(dim, med, False) + 2 + linear(dim, hidden, False) + 2 + linear(hidden, 4 * med, False)
            + size0 * (size1 // 2 + 1) * 4 * 2 + linear(med, dim, False))


def decoder_and_head(frames=4):
    ch = [4096, 2048, 1024, 512, 256, 128]
    n = conv(ch[0] * frames, ch[1], 1, False) + conv(ch[4] * frames, ch[4], 1, False)
    n += conv(ch[5] * frames, ch[5], 1, False)
    n += conv(ch[1], ch[2], 2, False) + bn(ch[2])  # ConvT weights have the same count
    n += conv(ch[2] + ch[4], ch[3], 2, False) + bn(ch[3])
    n += conv(ch[3] + ch[5], ch[4], 2, False) + bn(ch[4])
    for c in (ch[2], ch[3], ch[4]):  # channel attention, 1x1 convs with bias, reduction 16
        n += conv(c, c // 16, 1, True) + conv(c // 16, c, 1, True)
    n += conv(ch[4], ch[5], 1, False) + bn(ch[5]) + conv(ch[5], ch[5], 3, False) + bn(ch[5])
    n += conv(ch[5], 3, 3, False)
    return n


def main():
    for kind in ("signed", "unit"):
        p, t = images(kind)
        mse = np.mean((p - t) ** 2)
        g = gradient_loss(p, t)
        mq, ms = msssim(p, t, True), msssim(p, t, False)
        total = mse + g + (1 - mq) / 2 + math.sqrt(mse + 1e-8)
        print(f"{kind}: mse {mse:.10f} grad {g:.10f} msssim_quirk {mq:.10f} msssim_wang {ms:.10f} "
              f"loss {total:.10f}")
    enc, dec = wrn38_a2(), decoder_and_head()
    fus, fil_code = fusion(2048), trajectory_filter(288, 256, 224)
    fil_paper = trajectory_filter(256, 224, 288)
    print(f"params: encoder {enc} decoder+head {dec} fusion {fus} filter(code) {fil_code} "
          f"filter(paper) {fil_paper}")
    print(f"total code {enc + dec + fus + fil_code}  baseline {enc + dec}  "
          f"+fusion {enc + dec + fus}  +filter {enc + dec + fil_code}  paper-axes {enc + dec + fus + fil_paper}")


if __name__ == "__main__":
    main()
