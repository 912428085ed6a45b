#!/usr/bin/env python3
"""The PyTorch peer of `deno task bench`: the same Gatys step and kernels on the same GPU.

Same layers, shapes and losses as bench/bench.ts (fp32, NHWC shapes in the row names, NCHW in
torch): 3x3 conv + ReLU and its input gradient per VGG19 layer, the Gram matrix, the fused style
loss, the 2x2 max pool, and one full Adam step of src/style/engine.ts (content block3_conv4, style
block1_conv1, block2_conv1, block3_conv1 of the `offline` profile; alpha 1e4, beta 1; Adam lr 5,
beta1 0.99, beta2 0.999, epsilon 0.1 with TensorFlow's bias correction; the image clipped to valid
pixels). Every configuration runs twice, TF32 off (`pytorch-fp32`) and on (`pytorch-tf32`).

Weights: the tfjs shards (model.json + groupN-shard*) read with numpy, the same files the Deno side
loads; layers they lack get seeded He-uniform random weights of the Keras shapes, and every row
then says `"weights": "random"`.

Output: the bench's JSON rows ({kernel, shape, backend, impl, ms, gflops}) with backend
"torch-<device>" and impl "pytorch-fp32" / "pytorch-tf32", plus "weights" and "device_name".

    python3 bench/peer/gatys_torch.py --json out/peer.json               # quick: 64 px
    python3 bench/peer/gatys_torch.py --full --sizes 224,512 --json out/peer.json
    python3 bench/peer/gatys_torch.py --weights ../shared/weights/vgg19-tfjs --device cpu

Needs torch and numpy; nothing else. Timing: `--warmup` untimed runs, then the median of `--runs`,
each queueing `--repeat` calls and synchronising once (as the bench does); the step reads its
losses back each iteration, as GatysOptimizer.step does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - reported, not tested
    sys.exit(f"gatys_torch.py needs numpy and torch ({e}); pip install torch numpy")

# name, c_in, c_out, pool_before: src/vgg/layers.ts VGG19_CONV_LAYERS.
VGG19 = [
    ("block1_conv1", 3, 64, False),
    ("block1_conv2", 64, 64, False),
    ("block2_conv1", 64, 128, True),
    ("block2_conv2", 128, 128, False),
    ("block3_conv1", 128, 256, True),
    ("block3_conv2", 256, 256, False),
    ("block3_conv3", 256, 256, False),
    ("block3_conv4", 256, 256, False),
    ("block4_conv1", 256, 512, True),
    ("block4_conv2", 512, 512, False),
    ("block4_conv3", 512, 512, False),
    ("block4_conv4", 512, 512, False),
    ("block5_conv1", 512, 512, True),
    ("block5_conv2", 512, 512, False),
    ("block5_conv3", 512, 512, False),
    ("block5_conv4", 512, 512, False),
]
SPEC = {name: (cin, cout, pool) for name, cin, cout, pool in VGG19}
QUICK_LAYERS = ["block1_conv1", "block1_conv2", "block2_conv1", "block3_conv1", "block4_conv1",
                "block5_conv1"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
POOLED_LAYERS = ["block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4"]
STEP_CONTENT = "block3_conv4"
STEP_STYLE = ["block1_conv1", "block2_conv1", "block3_conv1"]
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
ADAM = dict(lr=5.0, beta1=0.99, beta2=0.999, eps=0.1)
ALPHA, BETA = 1e4, 1.0


def layer_side(name: str, size: int) -> int:
    side = size
    for n, _, _, pool in VGG19:
        if pool:
            side //= 2
        if n == name:
            return side
    raise KeyError(name)


def layers_up_to(names: list[str]) -> list[str]:
    last = max(i for i, (n, *_rest) in enumerate(VGG19) if n in names)
    return [n for n, *_rest in VGG19[: last + 1]]


def load_tfjs(folder: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Kernels (HWIO) and biases of the layers whose shard files are in a tfjs model folder."""
    with open(os.path.join(folder, "model.json"), encoding="utf-8") as f:
        manifest = json.load(f)["weightsManifest"]
    tensors: dict[str, np.ndarray] = {}
    for group in manifest:
        paths = [os.path.join(folder, p) for p in group["paths"]]
        if not all(os.path.exists(p) for p in paths):
            continue  # a partial copy (../shared has blocks 1-3 only): those layers go random
        blob = b"".join(open(p, "rb").read() for p in paths)
        offset = 0
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or "quantization" in w:
                raise ValueError(f"{w['name']}: only unquantised float32 weights are supported")
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            arr = np.frombuffer(blob, dtype="<f4", count=count, offset=offset)
            tensors[w["name"]] = arr.reshape(w["shape"])
            offset += 4 * count
    out = {}
    for name, *_rest in VGG19:
        k, b = tensors.get(f"{name}/kernel"), tensors.get(f"{name}/bias")
        if k is not None and b is not None:
            out[name] = (k, b)
    return out


def make_weights(folder: str | None, names: list[str], device: torch.device):
    """OIHW kernels and biases on `device`; 'tfjs', or 'random' when any layer had none."""
    found = {}
    if folder:
        try:
            found = load_tfjs(folder)
        except (OSError, ValueError, KeyError) as e:
            print(f"peer: weights from {folder} unusable ({e}); random weights", file=sys.stderr)
    source = "tfjs"
    params = {}
    for name in names:
        cin, cout, _ = SPEC[name]
        if name in found:
            k, b = found[name]
        else:
            source = "random"
            rng = np.random.default_rng(cout * 1000 + cin)
            bound = math.sqrt(2 / (9 * cin)) * math.sqrt(3)
            k = rng.uniform(-bound, bound, size=(3, 3, cin, cout)).astype(np.float32)
            b = np.zeros(cout, np.float32)
        kt = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1))).to(device)
        params[name] = (kt, torch.from_numpy(np.array(b)).to(device))
    return params, source


def features(x: torch.Tensor, params, names: list[str], wanted: set[str]) -> dict:
    out = {}
    for name in names:
        _, _, pool = SPEC[name]
        if pool:
            x = F.max_pool2d(x, 2, 2)
        k, b = params[name]
        x = F.relu(F.conv2d(x, k, b, padding=1))
        if name in wanted:
            out[name] = x
    return out


def gram(f: torch.Tensor) -> torch.Tensor:
    """[B, N, H, W] -> [B, N, N] = F^T F with F [M = H*W, N] per image."""
    b, n, h, w = f.shape
    flat = f.reshape(b, n, h * w)
    return torch.bmm(flat, flat.transpose(1, 2))


def style_layer_loss(f: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    _, n, h, w = f.shape
    m = h * w
    return ((gram(f) - target) ** 2).sum(dim=(1, 2)) / (4 * n * n * m * m)


class GatysStep:
    """One Adam step of src/style/engine.ts on a [1, 3, size, size] image."""

    def __init__(self, size: int, params, device: torch.device):
        self.names = layers_up_to([STEP_CONTENT, *STEP_STYLE])
        self.params = params
        gen = torch.Generator(device="cpu").manual_seed(1)
        content = torch.rand(1, 3, size, size, generator=gen) * 255
        style = torch.rand(1, 3, size, size, generator=gen) * 255
        mean = torch.tensor(CAFFE_MEAN_BGR).reshape(1, 3, 1, 1)
        pre = lambda rgb: (rgb.flip(1) - mean).to(device)  # noqa: E731 - RGB -> BGR, mean-free
        self.lo = (-mean).to(device)
        self.hi = (255 - mean).to(device)
        with torch.no_grad():
            wanted = {STEP_CONTENT, *STEP_STYLE}
            self.content_target = features(pre(content), params, self.names, wanted)[STEP_CONTENT]
            sf = features(pre(style), params, self.names, wanted)
            self.style_targets = [gram(sf[n])[0] for n in STEP_STYLE]
        self.x = pre(content).clone()
        self.m = torch.zeros_like(self.x)
        self.v = torch.zeros_like(self.x)
        self.t = 0

    def step(self) -> float:
        x = self.x.requires_grad_(True)
        feats = features(x, self.params, self.names, {STEP_CONTENT, *STEP_STYLE})
        c = ((feats[STEP_CONTENT] - self.content_target) ** 2).mean(dim=(1, 2, 3))
        s = sum(style_layer_loss(feats[n], a) for n, a in zip(STEP_STYLE, self.style_targets))
        total = ALPHA * c + BETA * s / len(STEP_STYLE)
        (g,) = torch.autograd.grad(total.sum(), x)
        with torch.no_grad():
            self.t += 1
            b1, b2 = ADAM["beta1"], ADAM["beta2"]
            self.m.mul_(b1).add_(g, alpha=1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            lr_t = ADAM["lr"] * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
            nxt = x - lr_t * self.m / (self.v.sqrt() + ADAM["eps"])
            self.x = torch.minimum(torch.maximum(nxt, self.lo), self.hi).detach()
        return float(total.sum().item())  # the read-back the Deno step also does


def step_flops(size: int) -> float:
    flops = 0.0
    for name in layers_up_to([STEP_CONTENT, *STEP_STYLE]):
        cin, cout, _ = SPEC[name]
        side = layer_side(name, size)
        flops += 2 * 2 * side * side * 9 * cin * cout
    for name in STEP_STYLE:
        side = layer_side(name, size)
        n = SPEC[name][1]
        flops += 4 * side * side * n * n
    return flops


def cases(full: bool, sizes: list[int], device: torch.device):
    """(kernel, shape, flops, make, run) like benchCases in bench/bench.ts."""
    out = []
    layers = [n for n, *_rest in VGG19] if full else QUICK_LAYERS
    randn = lambda *s, std=1.0: torch.randn(*s, device=device) * std  # noqa: E731
    for size in sizes:
        for name in layers:
            cin, cout, _ = SPEC[name]
            side = layer_side(name, size)
            flops = 2 * side * side * 9 * cin * cout
            shape = f"{name}@{size}: 1x{side}x{side}x{cin}->{cout}"
            std = math.sqrt(2 / (9 * cin))
            out.append(("conv3x3", shape, flops,
                        lambda side=side, cin=cin, cout=cout, std=std: (
                            randn(1, cin, side, side), randn(cout, cin, 3, 3, std=std),
                            randn(cout, std=0.1)),
                        lambda x, k, b: F.relu(F.conv2d(x, k, b, padding=1))))
            out.append(("conv3x3_grad_input", shape, flops,
                        lambda side=side, cin=cin, cout=cout, std=std: (
                            randn(1, cout, side, side), randn(1, cout, side, side),
                            randn(cout, cin, 3, 3, std=std)),
                        # what autograd runs for d(relu(conv))/dx: the mask, then cuDNN's
                        # backward-data convolution
                        lambda dy, y, k: torch.nn.grad.conv2d_input(
                            (1, k.shape[1], dy.shape[2], dy.shape[3]), k, dy * (y > 0),
                            padding=1)))
        style = STYLE_LAYERS if full else [n for n in STYLE_LAYERS if n in layers]
        for name in style:
            n = SPEC[name][1]
            side = layer_side(name, size)
            m = side * side
            shape = f"{name}@{size}: 1x{m}x{n}"
            out.append(("gram", shape, 2 * m * n * n,
                        lambda n=n, side=side: (F.relu(randn(1, n, side, side)),),
                        gram))

            def style_loss(f, a):
                f = f.detach().requires_grad_(True)
                loss = style_layer_loss(f, a)
                (g,) = torch.autograd.grad(loss.sum(), f)
                return loss, g

            out.append(("style_loss", shape, 4 * m * n * n + 3 * n * n,
                        lambda n=n, side=side: (F.relu(randn(1, n, side, side)),
                                                F.relu(randn(n, n))),
                        style_loss))
        for name in POOLED_LAYERS if full else POOLED_LAYERS[:2]:
            c = SPEC[name][1]
            side = layer_side(name, size)
            out.append(("maxpool", f"{name}@{size}: 1x{side}x{side}x{c}",
                        3 * (side // 2) ** 2 * c,
                        lambda c=c, side=side: (randn(1, c, side, side),),
                        lambda x: F.max_pool2d(x, 2, 2)))
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_case(make, run, device, warmup: int, runs: int, repeat: int) -> float:
    inputs = make()
    times = []
    for i in range(warmup + runs):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(repeat):
            run(*inputs)
        sync(device)
        dt = (time.perf_counter() - t0) * 1000 / repeat
        if i >= warmup:
            times.append(dt)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="every VGG19 layer (default: quick set)")
    ap.add_argument("--sizes", default=None, help="image sizes, default 64 (full: 64,128,224)")
    ap.add_argument("--weights", default=None,
                    help="tfjs weights folder (default $NST_SHARED/weights/vgg19-tfjs)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tf32", choices=["both", "off", "on"], default="both")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--no-step", action="store_true")
    ap.add_argument("--kernels", default=None, help="comma list of kernels (default: all)")
    ap.add_argument("--json", default=None, help="write the rows to this file")
    args = ap.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [64, 128, 224] if args.full else [64])
    runs = args.runs or (7 if args.full else 5)
    device = torch.device(args.device)
    folder = args.weights or os.path.join(os.environ.get("NST_SHARED", "../shared"),
                                          "weights", "vgg19-tfjs")
    kernels = set(args.kernels.split(",")) if args.kernels else None
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"peer: torch {torch.__version__} on {device_name}, sizes {sizes}, median of {runs}",
          file=sys.stderr)

    rows = []
    modes = {"both": [False, True], "off": [False], "on": [True]}[args.tf32]
    for tf32 in modes:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        impl = "pytorch-tf32" if tf32 else "pytorch-fp32"
        base = {"backend": f"torch-{device.type}", "impl": impl, "device_name": device_name}
        torch.manual_seed(0)
        for kernel, shape, flops, make, run in cases(args.full, sizes, device):
            if kernels and kernel not in kernels:
                continue
            with torch.no_grad() if kernel != "style_loss" else torch.enable_grad():
                ms = time_case(make, run, device, args.warmup, runs, args.repeat)
            rows.append({"kernel": kernel, "shape": shape, **base, "ms": ms,
                         "gflops": flops / (ms * 1e6), "weights": "random"})
            print(f"  {impl} {kernel} {shape}: {ms:.3f} ms", file=sys.stderr)
        if args.no_step or (kernels and "step" not in kernels):
            continue
        names = layers_up_to([STEP_CONTENT, *STEP_STYLE])
        params, source = make_weights(folder, names, device)
        for size in (sizes if args.full else [min(sizes)]):
            step = GatysStep(size, params, device)
            times = []
            for i in range(args.warmup + runs):
                t0 = time.perf_counter()
                step.step()
                if i >= args.warmup:
                    times.append((time.perf_counter() - t0) * 1000)
            ms = statistics.median(times)
            shape = f"gatys@{size}: {STEP_CONTENT} + {','.join(STEP_STYLE)}"
            rows.append({"kernel": "step", "shape": shape, **base, "ms": ms,
                         "gflops": step_flops(size) / (ms * 1e6), "weights": source})
            print(f"  {impl} step {shape}: {ms:.2f} ms/iteration ({source} weights)",
                  file=sys.stderr)

    text = json.dumps(rows, indent=2)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
