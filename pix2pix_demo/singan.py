"""SinGAN: train on one image, then sample, edit, harmonize, paint, super-resolve and animate.

    from pix2pix_demo.singan import TrainOptions, train_singan, sample
    model, stats = train_singan(image, TrainOptions(max_size=250, time_budget=3))
    picture = sample(model, seed=1, width_factor=2.0)          # PIL in / PIL out everywhere

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
  stay options.

Samples can be *finished from the photo* (`sample(..., finish=True)`, `finish_from_photo`): the
generators decide the layout, and from the level whose short side is 40 px up the picture is rebuilt
from the training photo's own 7x7 patches (GPNN's levels, `pix2pix_demo.gpnn.refine`), so the
texture is the photo's (sparks, windows, hairs) instead of the generators' soft strokes. The model
keeps the photo for that (`keep_photo`, the default). So can paintings and edits (`paint(..., finish=True)`,
`edit(..., finish=True)`: inside the mask only); harmonization is not finished, because the finish
rebuilds the pasted object itself out of the photo's patches and so erases it.

All applications are deterministic for a given seed (noise comes from a seeded CPU generator),
accept images of any size (resized to the model's scale and back) and raise ValueError with a
user-facing message for bad inputs.
"""

from __future__ import annotations

import copy
import io
import math
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .hub import atomic_write_bytes, resolve_device
from .imaging import check_aspect, image_to_tensor, open_image, tensor_to_image, to_gray, to_rgb
from .losses import gradient_penalty
from .models.singan import ScaleDiscriminator, SinGAN, SinGANConfig, upsample
from .singan_options import (  # noqa: F401 - re-exported: pix2pix_demo.singan.TrainOptions etc.
    MAX_FRAMES, MAX_INPUT_SIDE, MAX_OUTPUT_PIXELS, MAX_SUPER_RESOLVE_SIDE, MAX_TRAIN_SIZE, MIN_IMAGE_SIZE,
    TrainOptions, concurrent_window, default_injection_scale, iteration_cost_ms, iteration_plan, pyramid_shapes)


class TrainingCancelled(RuntimeError):
    """Raised by `train_singan` when its `cancel` event is set."""


# ---------------------------------------------------------------------------------- training
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
    """A random sample through scales 0..end_scale (noise from `generator`, on CPU)."""
    shapes = shapes or model.scale_shapes()
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
                          keeps_photo=options.keep_photo)
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
            if planned is None and it >= 10:
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


# ------------------------------------------------------------------------------ applications
def _seeded_noise(model: SinGAN, shapes, scales, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(int(seed))
    return [torch.randn(1, model.config.image_channels, *shapes[n], generator=generator).to(model.device)
            for n in scales]


def _check_scale(model: SinGAN, scale, name: str) -> int:
    if scale is None:
        return None
    scale = int(scale)
    if not 0 <= scale < model.num_scales:
        raise ValueError(f"{name} must be between 0 and {model.num_scales - 1} for this model "
                         f"({model.num_scales} scales), got {scale}.")
    return scale


def _output_shapes(model: SinGAN, width: int, height: int) -> list[tuple[int, int]]:
    """Per-scale shapes for an input of width x height: long side fitted to the model's finest
    scale, aspect kept."""
    train_h, train_w = model.config.shapes[-1]
    fit = max(train_h, train_w) / max(width, height)
    out_w, out_h = max(1, round(width * fit)), max(1, round(height * fit))
    ratio = [(h / train_h, w / train_w) for h, w in model.config.shapes]
    return [(max(2, round(out_h * rh)), max(2, round(out_w * rw))) for rh, rw in ratio]


# gpnn.refine's settings for the finish (its own defaults: from the 40-px level, completeness alpha 0.5)
FINISH_OPTIONS: dict = {}


def photo(model: SinGAN) -> Image.Image | None:
    """The training photo the model keeps (at its finest scale's size), or None."""
    if not model.config.keeps_photo:
        return None
    return Image.fromarray(model.photo[0].permute(1, 2, 0).cpu().numpy())


def _kept_photo(model: SinGAN) -> Image.Image:
    image = photo(model)
    if image is None:
        raise ValueError("This model was saved without its training photo, so its samples cannot be finished "
                         "from the photo (train it again with the photo kept: the default).")
    return image


def finish_from_photo(model: SinGAN, picture: Image.Image, image: Image.Image | None = None,
                      **refine_options) -> Image.Image:
    """`picture` (a sample, at the model's scale: the training size or a multiple of it) with its fine
    texture rebuilt from the training photo's own patches from the 40-px level up (pix2pix_demo.gpnn.refine
    with its measured defaults); the layout above that stays the picture's. `image`: the photo at the
    model's finest size for a model saved without one (default: the photo the model keeps). refine_options:
    `gpnn.refine`'s keywords (from_side, alpha, ...) instead of FINISH_OPTIONS (experiments)."""
    from .gpnn import MAX_OUTPUT_SIDE, refine

    image = _kept_photo(model) if image is None else image
    if max(picture.size) > MAX_OUTPUT_SIDE:
        raise ValueError(f"The finish from the photo works on pictures up to {MAX_OUTPUT_SIDE} px long; this one "
                         f"is {picture.width}×{picture.height}. Turn it off for larger samples.")
    return refine(picture, image, **{**FINISH_OPTIONS, **refine_options})


@torch.no_grad()
def sample(model: SinGAN, seed: int = 0, width_factor: float = 1.0, height_factor: float = 1.0,
           start_scale: int = 0, size: tuple[int, int] | None = None, finish: bool = False) -> Image.Image:
    """A random image from the model. width_factor/height_factor (0.25..4) or size=(width, height)
    set the output size relative to / instead of the training size; start_scale > 0 keeps the
    training image's layout up to that scale (the reconstruction) and adds new detail above.
    finish=True rebuilds the fine texture from the training photo's patches (finish_from_photo;
    a few seconds on a CPU; the model must keep its photo)."""
    if finish:
        _kept_photo(model)  # a model without its photo: say so before sampling
    start_scale = _check_scale(model, start_scale, "start_scale")
    train_h, train_w = model.config.shapes[-1]
    if size is not None:
        width, height = int(size[0]), int(size[1])
    else:
        for name, value in (("width_factor", width_factor), ("height_factor", height_factor)):
            if not 0.25 <= float(value) <= 4.0:
                raise ValueError(f"{name} must be between 0.25 and 4, got {value}.")
        width, height = round(train_w * float(width_factor)), round(train_h * float(height_factor))
    if width < 8 or height < 8 or width * height > MAX_OUTPUT_PIXELS:
        raise ValueError(f"Output size {width}×{height} is outside the allowed range "
                         f"(8 px to {MAX_OUTPUT_PIXELS / 1e6:.0f} megapixels).")
    shapes = model.scale_shapes(height, width)
    noises = _seeded_noise(model, shapes, range(model.num_scales), seed)
    if start_scale == 0:
        out = model.forward(noises, shapes=shapes)
    else:
        layout = upsample(model.reconstruct(end_scale=start_scale - 1), shapes[start_scale - 1])
        out = model.forward(noises[start_scale:], start=layout, start_scale=start_scale, shapes=shapes)
    picture = tensor_to_image(out)
    return finish_from_photo(model, picture) if finish else picture


def _as_rgb(image, what: str, max_side: int | None = None) -> Image.Image:
    """An input image -> RGB (16-bit, palette, alpha converted), shrunk to `max_side` on its long side."""
    if image is None:
        raise ValueError(f"Please provide {what}.")
    image = to_rgb(check_aspect(open_image(image)))
    if max_side and max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return image


def _working_input(image, mask, what: str) -> tuple[Image.Image, Image.Image | None]:
    """(image, mask) for edit / harmonize: the image shrunk to MAX_INPUT_SIDE, the mask with it (when it
    has the image's original size; another size is refused by prepare_mask)."""
    if image is None:
        raise ValueError(f"Please provide {what}.")
    original = open_image(image)
    working = _as_rgb(original, what, MAX_INPUT_SIDE)
    if mask is not None and working.size != original.size:
        mask = open_image(mask)
        if mask.size == original.size:
            mask = mask.resize(working.size, Image.NEAREST)
    return working, mask


def prepare_mask(mask, size: tuple[int, int], radius: float, blur: float = 5.0) -> np.ndarray:
    """A user mask (white = region to change) -> float32 (H, W) in [0, 1], dilated by `radius`
    and Gaussian-blurred (sigma `blur`) as in the SinGAN code; both in px of a 250-px image and
    scaled with the image. Raises ValueError for another size, grey (non-binary) or empty masks."""
    import cv2

    if mask is None:
        raise ValueError("Please provide a mask (white where the image should change).")
    mask = open_image(mask)
    if mask.size != tuple(size):
        raise ValueError(f"The mask is {mask.size[0]}×{mask.size[1]} px but the image is {size[0]}×{size[1]} px; "
                         "they must have the same size.")
    values = np.asarray(to_gray(mask))
    if mask.mode in ("RGBA", "LA", "PA") or "transparency" in mask.info:
        alpha = np.asarray(mask.convert("RGBA"))[:, :, 3]
        if values.min() == values.max() and alpha.min() != alpha.max():
            values = alpha  # a painted layer: colour is uniform, the stroke is the alpha
    grey = np.mean((values > 40) & (values < 215))
    if grey > 0.15:
        raise ValueError(f"The mask must be black and white (white = region to change), but {grey:.0%} of its "
                         "pixels are grey. Use a binary mask.")
    binary = (values >= 128).astype(np.uint8)
    if binary.sum() == 0:
        raise ValueError("The mask is empty: mark the region to change in white (or paint over it).")
    scale = max(size) / 250
    r = max(1, round(radius * scale))
    # dilation by a disk of radius r, in time linear in the pixels whatever r is (a kernel of
    # (2r+1)^2 makes cv2.dilate's time grow with r: minutes on a 4000-px mask)
    distance = cv2.distanceTransform((binary == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dilated = (distance <= r).astype(np.float32)
    sigma = max(0.5, blur * scale)
    return np.clip(cv2.GaussianBlur(dilated, (0, 0), sigma), 0, 1)


@torch.no_grad()
def _inject(model: SinGAN, image: Image.Image, injection_scale: int, seed: int) -> torch.Tensor:
    """Feed `image` (down-sampled to scale n-1, up-sampled to n) into scale n and run to the top."""
    shapes = _output_shapes(model, *image.size)
    n = injection_scale
    full = image_to_tensor(image)
    ref = F.interpolate(full, size=shapes[max(n - 1, 0)], mode="bicubic", antialias=True,
                        align_corners=False).clamp(-1, 1).to(model.device)
    noises = _seeded_noise(model, shapes, range(n, model.num_scales), seed)
    return model.forward(noises, start=ref, start_scale=n, shapes=shapes)


def _generated(model: SinGAN, image: Image.Image, injection_scale: int, seed: int, finish: bool) -> Image.Image:
    """`image` injected at `injection_scale` (at the model's scale), finished from the photo when asked."""
    picture = tensor_to_image(_inject(model, image, injection_scale, seed))
    return finish_from_photo(model, picture) if finish else picture


def _blend(generated: Image.Image, image: Image.Image, mask: np.ndarray) -> Image.Image:
    out = np.asarray(generated.resize(image.size, Image.LANCZOS), dtype=np.float32)
    base = np.asarray(image, dtype=np.float32)
    m = mask[:, :, None]
    return Image.fromarray(np.clip(m * out + (1 - m) * base, 0, 255).round().astype(np.uint8), "RGB")


def edit(model: SinGAN, image, mask, injection_scale: int | None = None, seed: int = 0,
         finish: bool = False) -> Image.Image:
    """Editing: `image` is the edited picture, `mask` marks the edited region (white). The region is
    re-generated from `injection_scale` up and blended back with a dilated, blurred mask.
    finish=True rebuilds the re-generated picture's fine texture from the training photo's patches
    before the blend (finish_from_photo; the model must keep its photo; outside the mask nothing changes).
    Returns an RGB image of the input's size (shrunk to MAX_INPUT_SIDE first when larger)."""
    if finish:
        _kept_photo(model)  # a model without its photo: say so before any work
    image, mask = _working_input(image, mask, "an edited image")
    soft = prepare_mask(mask, image.size, radius=20)
    scale = _check_scale(model, injection_scale, "injection_scale")
    scale = default_injection_scale(model.num_scales, "edit") if scale is None else scale
    return _blend(_generated(model, image, scale, seed, finish), image, soft)


def harmonize(model: SinGAN, image, mask, injection_scale: int | None = None, seed: int = 0) -> Image.Image:
    """Harmonization: `image` is a naive paste onto a picture in the model's style, `mask` marks the
    pasted object. Returns an RGB image of the input's size (shrunk to MAX_INPUT_SIDE first when larger).
    No finish from the photo here: it rebuilds the masked region out of the photo's patches, and tried on
    the CC0 cat and a Hubble deep-field model it replaced the pasted object with fur / empty sky."""
    image, mask = _working_input(image, mask, "a naive paste")
    soft = prepare_mask(mask, image.size, radius=7)
    scale = _check_scale(model, injection_scale, "injection_scale")
    scale = default_injection_scale(model.num_scales, "harmonize") if scale is None else scale
    return _blend(_generated(model, image, scale, seed, False), image, soft)


def training_palette(model: SinGAN, num_colors: int = 5) -> np.ndarray:
    """k-means colours (num_colors x 3, uint8) of the model's reconstruction of its training image."""
    import cv2

    pixels = np.asarray(tensor_to_image(model.reconstruct()), dtype=np.float32).reshape(-1, 3)
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.5)
    _, _, centers = cv2.kmeans(pixels, num_colors, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    return np.clip(centers, 0, 255).round().astype(np.uint8)


def quantize_to_palette(image: Image.Image, palette: np.ndarray) -> Image.Image:
    """Replace every pixel by the nearest palette colour."""
    pixels = np.asarray(image, dtype=np.float32)
    distances = ((pixels[:, :, None, :] - palette[None, None].astype(np.float32)) ** 2).sum(-1)
    return Image.fromarray(palette[distances.argmin(-1)], "RGB")


def paint(model: SinGAN, painting, injection_scale: int | None = None, seed: int = 0,
          quantize: bool = False, num_colors: int = 5, finish: bool = False) -> Image.Image:
    """Paint-to-image: a rough painting (flat colours) becomes an image with the model's textures.
    quantize=True first maps the painting onto the training image's `num_colors` k-means colours.
    finish=True rebuilds the result's fine texture from the training photo's patches (finish_from_photo;
    the model must keep its photo).
    Returns an RGB image of the painting's size (shrunk to MAX_INPUT_SIDE first when larger)."""
    if finish:
        _kept_photo(model)  # a model without its photo: say so before any work
    painting = _as_rgb(painting, "a painting", MAX_INPUT_SIDE)
    scale = _check_scale(model, injection_scale, "injection_scale")
    scale = default_injection_scale(model.num_scales, "paint") if scale is None else scale
    if quantize:
        if not 2 <= int(num_colors) <= 16:
            raise ValueError(f"num_colors must be between 2 and 16, got {num_colors}.")
        painting = quantize_to_palette(painting, training_palette(model, int(num_colors)))
    return _generated(model, painting, scale, seed, finish).resize(painting.size, Image.LANCZOS)


@torch.no_grad()
def super_resolve(model: SinGAN, image, factor: int = 4, seed: int = 0) -> Image.Image:
    """Super-resolution as in SinGAN: up-sample by 1/scale_factor and refine with the finest
    generator (noise at its amplitude), repeatedly, until the image is `factor` (2 or 4) times
    larger. Best on the model's own training image or images like it. An input whose result would be
    longer than MAX_SUPER_RESOLVE_SIDE is shrunk first (to MAX_SUPER_RESOLVE_SIDE / factor)."""
    if factor not in (2, 4):
        raise ValueError(f"factor must be 2 or 4, got {factor}.")
    image = _as_rgb(image, "an image to enlarge", MAX_SUPER_RESOLVE_SIDE // factor)
    width, height = image.size
    step_ratio = 1 / model.config.scale_factor
    steps = max(1, math.ceil(math.log(factor) / math.log(step_ratio) - 1e-6))
    ratio = factor ** (1 / steps)
    generator = torch.Generator().manual_seed(int(seed))
    x = image_to_tensor(image).to(model.device)
    top = model.num_scales - 1
    for k in range(1, steps + 1):
        shape = (round(height * ratio ** k), round(width * ratio ** k))
        noise = torch.randn(1, model.config.image_channels, *shape, generator=generator).to(model.device)
        x = model.step(top, x, noise, shape=shape)
    return tensor_to_image(x).resize((width * factor, height * factor), Image.LANCZOS)


@torch.no_grad()
def animation_frames(model: SinGAN, num_frames: int = 30, alpha: float = 0.1, beta: float = 0.9,
                     start_scale: int = 0, seed: int = 0) -> list[Image.Image]:
    """Frames of a random walk in noise space around the reconstruction noise (SinGAN's GIFs):
    z_t = alpha * z* + (1 - alpha) * (z_{t-1} + beta * (z_{t-1} - z_{t-2}) + (1 - beta) * eps).
    alpha near 1 stays close to the training image, beta near 1 makes motion smoother."""
    if not 2 <= int(num_frames) <= MAX_FRAMES:
        raise ValueError(f"num_frames must be between 2 and {MAX_FRAMES}, got {num_frames}.")
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}.")
    start_scale = _check_scale(model, start_scale, "start_scale")
    shapes = model.scale_shapes()
    generator = torch.Generator().manual_seed(int(seed))
    if start_scale == 0:
        anchor, start = model.reconstruction_noise, None
    else:
        anchor = torch.zeros(1, model.config.image_channels, *shapes[start_scale], device=model.device)
        start = model.reconstruct(end_scale=start_scale - 1)

    def eps():
        return torch.randn(anchor.shape, generator=generator).to(model.device)

    z_prev2 = anchor
    z_prev1 = 0.95 * anchor + 0.05 * eps()
    frames = []
    for _ in range(int(num_frames)):
        diff = beta * (z_prev1 - z_prev2) + (1 - beta) * eps()
        z = alpha * anchor + (1 - alpha) * (z_prev1 + diff)
        z_prev2, z_prev1 = z_prev1, z
        out = model.forward([z], start=start, start_scale=start_scale, shapes=shapes)
        frames.append(tensor_to_image(out))
    return frames


def animate(model: SinGAN, num_frames: int = 30, alpha: float = 0.1, beta: float = 0.9, start_scale: int = 0,
            seed: int = 0, fps: float = 10.0, path: str | Path | None = None) -> bytes:
    """An animated GIF (bytes; also written to `path` if given) of `animation_frames`."""
    if not 1 <= float(fps) <= 50:
        raise ValueError(f"fps must be between 1 and 50, got {fps}.")
    frames = animation_frames(model, num_frames, alpha, beta, start_scale, seed)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=round(1000 / float(fps)), optimize=False)
    data = buffer.getvalue()
    if path is not None:
        atomic_write_bytes(Path(path), data)
    return data


# --------------------------------------------------------------------------------- benchmark
def shipped_models() -> dict[str, str]:
    """key -> local folder of every SinGAN in the weights folder (via the registry when present)."""
    try:
        from . import registry

        return {key: entry.source for key, entry in registry.list_models("singan").items() if entry.local}
    except ImportError:
        from .hub import read_config

        folders = {}
        for config in sorted((Path(__file__).resolve().parent.parent / "weights").glob("*/config.json")):
            try:
                if read_config(config.parent)["model_type"] == "singan":
                    folders[config.parent.name] = str(config.parent)
            except Exception:  # noqa: BLE001 - a broken folder is skipped, not fatal here
                continue
        return folders


def reference_image(size: int = 128) -> Image.Image:
    """A deterministic synthetic picture (blobs on a gradient) used by tests and the benchmark."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.stack([0.3 + 0.5 * yy, 0.4 + 0.3 * xx, 0.8 - 0.4 * yy], -1)
    for _ in range(max(3, size // 10)):
        cy, cx, r = rng.random(), rng.random(), 0.03 + 0.07 * rng.random()
        colour = rng.random(3)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        rgb[blob] = colour
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")


def benchmark_section(full: bool = False) -> dict:
    """Sample time (ms, median of 3) for each shipped SinGAN, the same samples finished from the photo
    for the models that keep one (median of 2), and with `full` the training time of the 128-px
    reference image at 100 iterations per scale."""
    from .hub import load_local, read_config

    result = {"sample_ms": {}, "threads": torch.get_num_threads()}
    for key, folder in shipped_models().items():
        model = load_local(folder)
        times = []
        for seed in range(4):
            t0 = time.perf_counter()
            sample(model, seed=seed)
            times.append((time.perf_counter() - t0) * 1000)
        shape = read_config(folder)["architecture"]["shapes"][-1]
        result["sample_ms"][key] = {"ms": round(float(np.median(times[1:])), 1), "size": f"{shape[1]}x{shape[0]}"}
        if model.config.keeps_photo:
            times = []
            for seed in range(2):
                t0 = time.perf_counter()
                sample(model, seed=seed, finish=True)
                times.append((time.perf_counter() - t0) * 1000)
            result["sample_ms"][key]["finished_ms"] = round(float(np.median(times)), 1)
    if full:
        options = TrainOptions(max_size=128, iters=100, min_iters=100, device="cpu")
        t0 = time.perf_counter()
        _, stats = train_singan(reference_image(128), options)
        result["train_reference"] = {"image": "synthetic 128x128", "iters_per_scale": 100,
                                     "scales": stats["num_scales"], "seconds": round(time.perf_counter() - t0, 1)}
    return result


def _peak_rss_growth_mb(fn) -> tuple[object, float, float]:
    """Run fn(); return (its result, seconds, peak resident-memory growth in MB during the call)."""
    import os

    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * page

    base, peak, done = rss(), [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            done.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    return result, seconds, max(0.0, (max(peak[0], rss()) - base) / 2**20)


def bounds_section(full: bool = False) -> dict:
    """The applications on the largest inputs a person can send (the app accepts up to 40 MP), with the
    shipped models: seconds, peak memory growth and result size. These are what MAX_INPUT_SIDE,
    MAX_SUPER_RESOLVE_SIDE and MAX_FRAMES bound (see the README's SinGAN limits)."""
    from .hub import load_local

    folders = shipped_models()
    rng = np.random.default_rng(0)

    def picture(width: int, height: int) -> Image.Image:
        small = Image.fromarray(rng.integers(0, 255, (height // 50 + 1, width // 50 + 1, 3), dtype=np.uint8))
        return small.resize((width, height), Image.BILINEAR)

    def box_mask(size) -> Image.Image:
        mask = Image.new("L", size, 0)
        mask.paste(255, (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
        return mask

    big = picture(4000, 2680)
    cases = {
        "edit 4000x2680": ("singan-stone", lambda m: edit(m, big, box_mask(big.size))),
        "harmonize 4000x2680": ("singan-starry_night", lambda m: harmonize(m, big, box_mask(big.size))),
        "paint 6000x6000, quantize": ("singan-cows", lambda m: paint(m, picture(6000, 6000), quantize=True)),
        "super-resolve 1200x1000 x4": ("singan-33039_LR", lambda m: super_resolve(m, picture(1200, 1000), 4)),
        f"animate {MAX_FRAMES} frames": ("singan-lightning1", lambda m: animate(m, MAX_FRAMES)),
    }
    result = {"threads": torch.get_num_threads(), "limits": {"max_input_side": MAX_INPUT_SIDE,
              "max_super_resolve_side": MAX_SUPER_RESOLVE_SIDE, "max_frames": MAX_FRAMES}, "cases": {}}
    for name, (key, run) in cases.items():
        if key not in folders:
            result["cases"][name] = f"skipped: {key} is not in the weights folder"
            continue
        model = load_local(folders[key])
        output, seconds, grown = _peak_rss_growth_mb(lambda: run(model))
        size = output.size if isinstance(output, Image.Image) else f"{len(output) / 1e6:.1f} MB GIF"
        result["cases"][name] = {"model": key, "seconds": round(seconds, 1), "peak_rss_growth_mb": round(grown),
                                 "result": f"{size[0]}x{size[1]}" if isinstance(size, tuple) else size}
    return result

