"""SinGAN training: `train_singan` (one image -> a SinGAN) and the pieces it is built from.

Training follows the SinGAN paper (WGAN-GP critic per scale, reconstruction loss with fixed
noise, noise amplitude from the reconstruction RMSE) with changes that buy speed on a CPU:

- one D and one G step per iteration that share the generator forward pass (the random and the
  reconstruction paths run as one batch of two, D sees real and fake as one batch);
- optional lazy gradient penalty (StyleGAN2): every `gp_every`-th D step, weighted by gp_every
  (default: every step, as SinGAN);
- a coarsest scale of 12 px (SinGAN: 25) on the short side, about the generators' 11-px receptive
  field: with zero padding only pixels near a border know where they are, so at 25 px the middle
  of a coarse sample has no idea of "up" and landscapes come out as jumbled patches; at 12 px
  the layout (sky on top, ground below) survives, notably at 500 px;
- at the scales under 25 px the critic has 3 layers (a 7-px receptive field; `coarse_critic_layers`): an
  11-px critic covers the whole 12-px coarsest picture and accepts only the photo, so every sample had the
  photo's layout (issue 30); the smaller critic judges patches and the samples get new layouts;
- random samples (layout "warp", the default since session 14) start from the model's reconstruction through
  scale 1, warped at random along the width (`layout`), and the scales above train on such layouts: the small
  critic's scale-0 samples were shapeless blobs that the next scales turned into objects floating in the sky;
- each scale starts from the weights of the scale below (as SinGAN does when widths agree);
- scales larger than `crop_size` are trained on random crops (D and G are Markovian with an
  11-px receptive field, so a crop is as good a training example as the full image, and costs
  a fraction of it); the coarse-scale sample feeding a scale is refreshed every few iterations;
- a wall-clock budget split across scales: each scale measures its own iteration time and
  takes its share of the remaining budget (coarse scales finish early and hand time on), or
  (plan="model") a fixed iteration plan from a cost model, the same run at any machine load;
- optionally (concurrent > 0) ConSinGAN's concurrent stages: while scale n trains, the generators of
  the scales just below get the same losses at a smaller learning rate; with crops, each of them runs
  only on the window of its scale that the crop above reads (exact: the window has the receptive
  radius as a margin), so the extra cost stays about that of a crop;
- the WGAN-GP penalty's gradient norm is taken over the whole (cropped) image and rescaled to the
  coarsest training example's size (gp_norm="coarsest"): the plain whole-image norm holds a patch
  critic's per-patch gradient to ~1/sqrt(pixels), so at the large scales the critic is too weak to
  ask for texture and samples come out soft (README, Sharpness); "image" and SinGAN's "pixel"
"""

from __future__ import annotations

import copy
import io
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..hub import atomic_write_bytes, resolve_device
from ..imaging import image_to_tensor, open_image, tensor_to_image, to_rgb
from ..losses import gradient_penalty
from ..models.singan import ScaleDiscriminator, SinGAN, SinGANConfig, upsample
from ..singan_options import TrainOptions, concurrent_window, iteration_plan, pyramid_shapes
from .layout import layout_scale, warped_layout


class TrainingCancelled(RuntimeError):
    """Raised by `train_singan` when its `cancel` event is set."""


def image_pyramid(image: Image.Image, shapes) -> list[torch.Tensor]:
    """The training image at every scale, (1, 3, h, w) in [-1, 1], anti-aliased bicubic."""
    full = image_to_tensor(to_rgb(image))
    return [F.interpolate(full, size=tuple(s), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)
            for s in shapes]


def _random_crop(shape, size: int, generator: torch.Generator) -> tuple[int, int, int, int]:
    h, w = shape
    ch, cw = min(h, size), min(w, size)
    top = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
    return top, left, ch, cw


def _crop(x: torch.Tensor, box) -> torch.Tensor:
    top, left, ch, cw = box
    return x[..., top:top + ch, left:left + cw]


@torch.no_grad()
def random_sample_tensor(model: SinGAN, end_scale: int, generator: torch.Generator, shapes=None) -> torch.Tensor:
    """A random sample through scales 0..end_scale (random numbers from `generator`, on CPU). A model with the
    "warp" layout gives, through a scale L = its layout scale or finer, its reconstruction through L warped at
    random (`layout.warped_layout`) refined by the scales above L: what train_singan feeds the scales above L,
    and what `sample` draws, except that the mirror beyond an edge starts right at the edge here (no
    `layout_gap`: trained on gapped layouts, Marina Bay's third and fourth towers came out joined into an arch
    and the volcano got lava pieces floating in the sky; session 18, one run each, docs/singan.md)."""
    shapes = shapes or model.scale_shapes()
    scale = layout_scale(model)
    if scale is not None and end_scale >= scale:
        x, _ = warped_layout(model, generator, shapes, gap=0.0)
        for n in range(scale + 1, end_scale + 1):
            noise = torch.randn(1, model.config.image_channels, *shapes[n], generator=generator).to(model.device)
            x = model.step(n, x, noise, shape=shapes[n])
        return x
    noises = [torch.randn(1, model.config.image_channels, *shapes[n], generator=generator).to(model.device)
              for n in range(end_scale + 1)]
    return model.forward(noises, end_scale=end_scale, shapes=shapes)


def critic_layers(options: TrainOptions, shape) -> int:
    """The critic's conv layers at a scale of `shape` (h, w): options.coarse_critic_layers where the short side
    is under options.coarse_critic_side (a patch critic smaller than the picture: see TrainOptions), else
    options.num_layers (as the generator)."""
    if options.coarse_critic_layers is not None and min(shape) < options.coarse_critic_side:
        return options.coarse_critic_layers
    return options.num_layers


def critic_rows(options: TrainOptions, shape) -> bool:
    """Whether the critic of a scale of `shape` (h, w) sees each pixel's row (options.coarse_critic_rows, at
    the scales whose short side is under options.coarse_critic_side: ScaleDiscriminator(rows=True))."""
    return bool(options.coarse_critic_rows) and min(shape) < options.coarse_critic_side


def _load_critic(discriminator: ScaleDiscriminator, previous: dict) -> None:
    """Start a critic from the previous one's weights: tensors of the same shape are copied; a first conv whose
    inputs differ (a critic with or without the row channel) keeps the common input channels; layers the
    previous critic lacked (a deeper critic above the coarse ones) start fresh."""
    state = discriminator.state_dict()
    for key, value in state.items():
        old = previous.get(key)
        if old is None:
            continue
        if old.shape == value.shape:
            state[key] = old
        elif old.dim() == 4 and old.shape[0] == value.shape[0] and old.shape[2:] == value.shape[2:]:
            common = min(old.shape[1], value.shape[1])
            state[key] = value.clone()
            state[key][:, :common] = old[:, :common]
    discriminator.load_state_dict(state)


def resolve_plan(plan: str, device: torch.device) -> str:
    """TrainOptions.plan for a run on `device`: "auto" is the cost model ("model") on the CPU, whose cost it
    describes, and the measured plan on a GPU (where the CPU cost model would spend a fraction of the budget)."""
    if plan == "auto":
        return "model" if torch.device(device).type == "cpu" else "measured"
    return plan


def concurrent_inputs(model: SinGAN, shapes, low: int, n: int, boxes, bases, noises) -> torch.Tensor:
    """Scale n's up-sampled input x_up in each of `boxes` (one (top, left, h, w) per batch item), computed
    through the generators of scales low .. n-1 with their gradient (ConSinGAN's concurrent stages).

    bases[i]: (1, C, *shapes[low]), item i's up-sampled sample of the scales below `low`; noises[k - low][i]:
    item i's (1, C, *shapes[k]) noise at scale k = low .. n-1. Returns (len(boxes), C, h, w); the boxes must
    have one size. Each scale runs only on the window the scale above reads, widened by the generator's
    receptive radius (`concurrent_window`): the pixels read are exactly those of a full-image pass (the cut
    edges' padding never reaches them), at the cost of about one crop per scale. The windows are zero-padded
    to the full size, resized up and cut again."""
    radius = model.config.num_layers
    windows = [list(boxes)]
    for k in range(n - 1, low - 1, -1):
        level = []
        for top, left, ch, cw in windows[0]:
            t, hh = concurrent_window(top, ch, shapes[k][0], shapes[k + 1][0], radius)
            l, ww = concurrent_window(left, cw, shapes[k][1], shapes[k + 1][1], radius)
            level.append((t, l, hh, ww))
        windows.insert(0, level)
    x = torch.cat([_crop(base, box) for base, box in zip(bases, windows[0])])
    for k in range(low, n):
        here, above = windows[k - low], windows[k - low + 1]
        noise = torch.cat([_crop(z, box) for z, box in zip(noises[k - low], here)])
        out = x + model.generators[k](x + model.noise_amp[k] * noise)
        h, w = shapes[k]
        full = torch.cat([F.pad(out[i:i + 1], (box[1], w - box[1] - box[3], box[0], h - box[0] - box[2]))
                          for i, box in enumerate(here)])
        up = upsample(full, shapes[k + 1])
        x = torch.cat([_crop(up[i:i + 1], box) for i, box in enumerate(above)])
    return x


def _save_checkpoint(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def train_singan(image, options: TrainOptions | None = None, progress=None, cancel: threading.Event | None = None,
                 checkpoint: str | Path | None = None, resume: bool = False, log=None,
                 on_scale_end=None, preview_every: float | None = None) -> tuple[SinGAN, dict]:
    """Train a SinGAN on one image.

    image: anything `open_image` takes. progress: callable(scale, iteration, fraction, preview)
    called every few iterations (`preview` is a PIL sample at the end of each scale, else None);
    `fraction` is the overall progress in [0, 1]; with `preview_every` (wall seconds) a preview also
    comes mid-scale, at most that often: a sample (seed options.seed) through the scale being trained,
    so a person watches the picture sharpen (0 = at every progress call). cancel: a threading.Event; when set, training
    stops at the next iteration with TrainingCancelled. on_scale_end: callable(model, scale,
    scale_stats) after each scale (sample grids, logs). checkpoint: a file written after every
    scale and every ~30 s, from which `resume=True` continues. log: callable(str) for messages.
    Returns (model in eval mode on the chosen device, stats dict: per-scale iterations, seconds,
    losses, noise amplitudes, wall time).
    """
    options = copy.deepcopy(options or TrainOptions())
    options.validate()
    image = to_rgb(open_image(image))
    device = resolve_device(options.device)
    shapes, factor = pyramid_shapes(*image.size, options)
    num_scales = len(shapes)
    plan = resolve_plan(options.plan, device)
    config = SinGANConfig(shapes=shapes, channels=[options.channels] * num_scales, num_layers=options.num_layers,
                          scale_factor=round(factor, 6), padding_mode=options.padding,
                          fine_padding_mode=options.fine_padding, fine_padding_from=options.fine_padding_from,
                          keeps_photo=options.keep_photo, layout=options.layout, layout_scale=options.layout_scale,
                          layout_shift=options.layout_shift, layout_stretch=options.layout_stretch,
                          layout_height=options.layout_height, layout_edge=options.layout_edge,
                          layout_gap=options.layout_gap)
    torch.manual_seed(options.seed)
    model = SinGAN(config).to(device)
    reals = [r.to(device) for r in image_pyramid(image, shapes)]
    if options.keep_photo:
        model.photo.copy_(((reals[-1] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8))
    generator = torch.Generator().manual_seed(options.seed)
    # z*: its own stream, so that sample(seed=options.seed) is not the reconstruction
    model.reconstruction_noise.copy_(torch.randn(model.reconstruction_noise.shape,
                                                 generator=torch.Generator().manual_seed(options.seed + 1_000_003)))
    memory_format = torch.channels_last if options.channels_last else torch.contiguous_format
    weights = [s[0] * s[1] for s in shapes]
    position = [n / max(1, num_scales - 1) for n in range(num_scales)]  # 0 at the coarsest, 1 at the finest
    budget_weights = [options.fine_weight ** p for p in position]
    scale_lr = [options.lr * options.fine_lr_mult ** p for p in position]
    total_weight = sum(weights)
    # gp_norm "coarsest": the penalty's reference size = the pixels of a coarsest-scale training example
    h0, w0 = shapes[0]
    crop0 = options.crop_size if options.crop_size and max(h0, w0) > options.crop_size else max(h0, w0)
    gp_reference = min(h0, crop0) * min(w0, crop0) if options.gp_norm == "coarsest" else None

    stats = {"scales": [], "num_scales": num_scales, "shapes": shapes, "scale_factor": factor,
             "options": asdict(options), "device": str(device), "plan": plan}
    start_scale, elapsed_before = 0, 0.0
    discriminator = None
    resume_state = None
    checkpoint = Path(checkpoint) if checkpoint else None
    if resume and checkpoint and checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if state["shapes"] != shapes:
            raise ValueError(f"{checkpoint} was made for another image or options (shapes {state['shapes']}).")
        if options.keep_photo:  # checkpoints from before the photo was kept
            state["model"].setdefault("photo", model.photo.cpu())
        model.load_state_dict(state["model"])
        start_scale, elapsed_before, stats = state["scale"], state["elapsed"], state["stats"]
        generator.set_state(state["rng"])
        resume_state = state
        if log:
            log(f"resuming at scale {start_scale} iteration {state.get('iteration', 0)} ({elapsed_before:.0f} s done)")
    clock = time.process_time if options.budget_clock == "cpu" else time.perf_counter
    started = clock() - elapsed_before
    wall_started, cpu_started = time.perf_counter(), time.process_time()

    def elapsed() -> float:
        return clock() - started

    last_preview = time.perf_counter()

    for n in range(start_scale, num_scales):
        real = reals[n].contiguous(memory_format=memory_format)
        g = model.generators[n]
        fresh = resume_state is None or resume_state.get("iteration", 0) == 0
        previous_d = discriminator.state_dict() if discriminator is not None else (
            resume_state.get("discriminator") if resume_state is not None else None)
        discriminator = ScaleDiscriminator(options.channels, critic_layers(options, shapes[n]),
                                           padding_mode=config.padding_at(n), rows=critic_rows(options, shapes[n])
                                           ).to(device)
        if fresh and n > 0:
            g.load_state_dict(model.generators[n - 1].state_dict())  # start from the scale below
        if previous_d is not None:
            # as SinGAN: D_n starts as D_{n-1} (a deeper critic above the coarse ones: its extra layers start fresh)
            _load_critic(discriminator, previous_d)
        g.to(memory_format=memory_format)
        discriminator.to(memory_format=memory_format)
        # fixed input of the reconstruction path, and sigma_n from its RMSE
        with torch.no_grad():
            if n == 0:
                rec_input, rec_noise = None, model.reconstruction_noise
            else:
                rec_input, rec_noise = upsample(model.reconstruct(end_scale=n - 1), shapes[n]), None
                if fresh:
                    rmse = torch.sqrt(F.mse_loss(rec_input, real))
                    fine = options.fine_noise_amp is not None and n >= options.fine_noise_from
                    model.noise_amp[n] = (options.fine_noise_amp if fine else options.noise_amp) * rmse
        depth = min(options.concurrent, n)  # concurrent scales n-1 .. n-depth train with scale n (ConSinGAN)
        low = n - depth
        if depth:
            lr_below = [scale_lr[n] * options.concurrent_lr_scale ** d for d in range(1, depth + 1)]
            opt_g = torch.optim.Adam([{"params": g.parameters(), "lr": scale_lr[n]}]
                                     + [{"params": model.generators[n - d].parameters(), "lr": lr}
                                        for d, lr in enumerate(lr_below, start=1)], betas=(0.5, 0.999))
            with torch.no_grad():  # the reconstruction path's fixed input below the concurrent scales
                chain_rec_base = (torch.zeros(1, model.config.image_channels, *shapes[0], device=device) if low == 0
                                  else upsample(model.reconstruct(end_scale=low - 1), shapes[low]))
                chain_rec_noise = [model.reconstruction_noise if k == 0 else  # no noise above scale 0 (z*)
                                   torch.zeros(1, model.config.image_channels, *shapes[k], device=device)
                                   for k in range(low, n)]
        else:
            opt_g = torch.optim.Adam(g.parameters(), lr=scale_lr[n], betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=scale_lr[n], betas=(0.5, 0.999))
        base_lr = [[group["lr"] for group in opt.param_groups] for opt in (opt_g, opt_d)]
        first_iter, planned = 0, None
        if plan == "model":  # fixed iterations from the cost model, whatever the machine's load
            planned = iteration_plan(shapes, options)[n]
        if resume_state is not None and resume_state.get("iteration", 0) > 0:
            opt_g.load_state_dict(resume_state["opt_g"])
            opt_d.load_state_dict(resume_state["opt_d"])
            first_iter, planned = resume_state["iteration"], resume_state["planned"]
        resume_state = None
        decayed = False
        scale_start = clock()
        share = None
        if options.time_budget is not None:
            remaining = options.time_budget * 60 - elapsed()
            # a share of what is left per remaining scale (equal by default; fine_weight > 1 gives the
            # fine scales more): cheap coarse scales (which set the global layout) get many iterations,
            # and what they do not use (the `iters` cap) flows on
            share = max(0.0, remaining) * budget_weights[n] / sum(budget_weights[n:])
        losses = {"d": [], "g": [], "rec": []}
        coarse_up = None
        last_save = time.perf_counter()
        use_crop = options.crop_size and max(shapes[n]) > options.crop_size

        def boxes():
            if not use_crop:
                return (0, 0, *shapes[n]), (0, 0, *shapes[n]), (0, 0, *shapes[n])
            return tuple(_random_crop(shapes[n], options.crop_size, generator) for _ in range(3))

        def critic_step(real_crop, fake, step_index):
            scores = discriminator(torch.cat([real_crop, fake.detach()]))
            loss = scores[1:].mean() - scores[:1].mean()
            if step_index % options.gp_every == 0:  # lazy gradient penalty every gp_every D steps
                loss = loss + gradient_penalty(discriminator, real_crop, fake,
                                               weight=options.gp_weight * options.gp_every,
                                               per_pixel=options.gp_norm == "pixel",
                                               reference_pixels=gp_reference)
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
            return loss

        def generator_step(fake, rec, rec_box):
            for p in discriminator.parameters():
                p.requires_grad_(False)
            adv = -discriminator(fake).mean()
            for p in discriminator.parameters():
                p.requires_grad_(True)
            rec_loss = F.mse_loss(rec, _crop(real, rec_box))
            opt_g.zero_grad(set_to_none=True)
            (adv + options.reconstruction_weight * rec_loss).backward()
            opt_g.step()
            return adv, rec_loss

        def chain(fake_box, rec_box):
            """Scale n's up-sampled inputs in fake_box (random path) and rec_box (reconstruction path), through
            the concurrent scales low .. n-1 with their gradient."""
            x = concurrent_inputs(model, shapes, low, n, [fake_box, rec_box], [chain_base, chain_rec_base],
                                  [[f, r] for f, r in zip(chain_noise, chain_rec_noise)])
            return x[:1], x[1:]

        # the random path and the fixed-noise reconstruction path share one batched G call
        def generate(fake_box, rec_box, noise):
            if depth:
                x_up, rec_in = chain(fake_box, rec_box)
                inputs = torch.cat([x_up, rec_in])
                noisy = torch.cat([x_up + model.noise_amp[n] * _crop(noise, fake_box), rec_in])
                out = inputs + g(noisy.contiguous(memory_format=memory_format))
                return out[:1], out[1:]
            x_up = _crop(coarse_up, fake_box)
            if n == 0:
                rec_in = torch.zeros_like(x_up)
                rec_z = model.noise_amp[0] * _crop(rec_noise, rec_box)
            else:
                rec_in, rec_z = _crop(rec_input, rec_box), 0.0
            inputs = torch.cat([x_up, rec_in])
            noisy = torch.cat([x_up + model.noise_amp[n] * _crop(noise, fake_box), rec_in + rec_z])
            out = inputs + g(noisy.contiguous(memory_format=memory_format))
            return out[:1], out[1:]

        it = first_iter
        while True:
            if planned is not None and it >= planned:
                break
            if cancel is not None and cancel.is_set():
                raise TrainingCancelled("Training was cancelled.")
            if planned is not None and not decayed and it >= int(0.8 * planned):
                for opt, bases in zip((opt_g, opt_d), base_lr):
                    for group, base in zip(opt.param_groups, bases):
                        group["lr"] = base * 0.1
                decayed = True
            # ---- inputs: a fresh coarse sample (every few iterations), noise, crops
            if coarse_up is None or it % options.coarse_refresh == 0:
                if depth:  # a sample below the concurrent scales, and their noise (they run in `chain`)
                    coarse_up = chain_base = (torch.zeros(1, model.config.image_channels, *shapes[0], device=device)
                                              if low == 0 else
                                              upsample(random_sample_tensor(model, low - 1, generator), shapes[low]))
                    chain_noise = [torch.randn(1, model.config.image_channels, *shapes[k], generator=generator)
                                   .to(device) for k in range(low, n)]
                elif n == 0:
                    coarse_up = torch.zeros_like(real)
                else:
                    coarse_up = upsample(random_sample_tensor(model, n - 1, generator), shapes[n])
            # extra critic steps (d_steps > 1, as SinGAN's 3), each on a fresh fake without a G gradient
            for k in range(options.d_steps - 1):
                fake_box, real_box, _ = boxes()
                noise = torch.randn(real.shape, generator=generator).to(device)
                with torch.no_grad():
                    x_up = chain(fake_box, fake_box)[0] if depth else _crop(coarse_up, fake_box)
                    fake = x_up + g((x_up + model.noise_amp[n] * _crop(noise, fake_box)).contiguous(
                        memory_format=memory_format))
                critic_step(_crop(real, real_box), fake, it * options.d_steps + k)
            noise = torch.randn(real.shape, generator=generator).to(device)
            fake_box, real_box, rec_box = boxes()
            fake, rec = generate(fake_box, rec_box, noise)
            # ---- D step: maximise D(real) - D(fake) (shares this G pass with the G step)
            loss_d = critic_step(_crop(real, real_box), fake, it * options.d_steps + options.d_steps - 1)
            # ---- G step: fool D + reconstruct the real image from the fixed noise
            loss_adv, loss_rec = generator_step(fake, rec, rec_box)
            for _ in range(options.g_steps - 1):  # extra generator steps (g_steps > 1), fresh noise and crops
                fake_box, _, rec_box = boxes()
                noise = torch.randn(real.shape, generator=generator).to(device)
                loss_adv, loss_rec = generator_step(*generate(fake_box, rec_box, noise), rec_box)
            it += 1
            losses["d"].append(float(loss_d.detach()))
            losses["g"].append(float(loss_adv.detach()))
            losses["rec"].append(float(loss_rec.detach()))
            # ---- plan the number of iterations after a short measurement
            if planned is None and it >= min(10, options.min_iters):  # (a floor under 10: the app's short budgets)
                per_iter = (clock() - scale_start) / max(1, it - first_iter)
                if share is None:
                    planned = options.iters
                else:
                    planned = int(min(options.iters, max(options.min_iters, share / per_iter)))
                planned = max(planned, it)
            measured = share is not None and plan == "measured"
            if measured and planned is not None and it >= options.min_iters and (
                    clock() - scale_start > 1.25 * share + 1  # the machine got slower (shared CPU)
                    or (n == num_scales - 1 and elapsed() >= options.time_budget * 60)):  # never past the budget
                planned = it
            if progress is not None and (it % 10 == 0):
                done = sum(weights[:n]) + weights[n] * min(1.0, it / (planned or options.iters))
                preview = None
                if preview_every is not None and time.perf_counter() - last_preview >= preview_every:
                    # its own generator: the training's random stream is untouched by previews
                    seeded = torch.Generator().manual_seed(options.seed)
                    preview = tensor_to_image(random_sample_tensor(model, n, seeded))
                    last_preview = time.perf_counter()
                progress(n, it, done / total_weight, preview)
            if checkpoint and time.perf_counter() - last_save > 30:
                _save_checkpoint(checkpoint, {
                    "model": model.state_dict(), "discriminator": discriminator.state_dict(),
                    "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "scale": n, "iteration": it,
                    "planned": planned, "elapsed": elapsed(), "stats": stats, "shapes": shapes,
                    "rng": generator.get_state()})
                last_save = time.perf_counter()
        g.to(memory_format=torch.contiguous_format)
        head = losses["rec"][: max(1, min(10, len(losses["rec"])))]
        tail = losses["rec"][-max(1, min(10, len(losses["rec"]))):]
        scale_stats = {"scale": n, "shape": shapes[n], "iterations": it, "seconds": round(clock() - scale_start, 2),
                       "noise_amp": float(model.noise_amp[n]), "rec_loss_start": float(np.mean(head)) if head else None,
                       "rec_loss_end": float(np.mean(tail)) if tail else None,
                       "d_loss_end": float(np.mean(losses["d"][-10:])) if losses["d"] else None}
        stats["scales"].append(scale_stats)
        if log:
            log(f"scale {n} {shapes[n][1]}x{shapes[n][0]}: {it} it in {scale_stats['seconds']:.1f} s, "
                f"rec {scale_stats['rec_loss_start']:.4f} -> {scale_stats['rec_loss_end']:.4f}, "
                f"noise amp {scale_stats['noise_amp']:.4f}")
        if checkpoint:
            _save_checkpoint(checkpoint, {
                "model": model.state_dict(), "discriminator": discriminator.state_dict(), "scale": n + 1, "iteration": 0,
                "planned": None, "elapsed": elapsed(), "stats": stats, "shapes": shapes, "rng": generator.get_state()})
        if on_scale_end is not None:
            on_scale_end(model, n, scale_stats)
        if progress is not None:
            preview = tensor_to_image(random_sample_tensor(model, n, torch.Generator().manual_seed(options.seed)))
            progress(n, it, sum(weights[:n + 1]) / total_weight, preview)
    stats["budget_seconds"] = round(elapsed(), 1)  # on options.budget_clock, including resumed runs
    stats["wall_seconds_this_run"] = round(time.perf_counter() - wall_started, 1)
    stats["cpu_seconds_this_run"] = round(time.process_time() - cpu_started, 1)
    return model.eval(), stats
