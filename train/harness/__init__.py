"""The run scaffolding every trainer shares, written once: the budget clock and progress, the
progress bar, checkpoints (atomic writes, `--resume` with its architecture check, the RNG state),
log.jsonl (trimmed on resume), sample grids, the generator's EMA, stop-if-not-finite, the temporary
files an interrupted run left, and the export with its command, hardware and card.

A trainer builds its data, networks, optimisers and losses, hands the stateful parts to a `Run`, and
keeps only its own step:

    run = Run(args, "train.spade", exports=[out])
    run.track(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d, ema=ema)
    run.resume(ARCHITECTURE_OPTIONS)          # with --resume: weights, optimisers, step, clock, RNG
    run.start(sample=lambda path: ...)        # run folder, log, bar, clock
    for batch in run.batches(loader, dataset):   # (or: while not run.done(): draw a batch by step)
        fraction = run.progress()
        ...                                   # the trainer's own losses and optimiser steps
        run.end_step(losses, epoch=run.epoch, lr=lr)   # finite check, EMA, log, samples, checkpoint
    run.finish()                              # last checkpoint and samples, log closed
    run.export(model, folder, metadata)       # save_model (config.json, weights, card)

A resumed run continues exactly as the uninterrupted one would have (same batches, same random
draws) where the batches depend on the step (the trainers that draw them by step) or where the
checkpoint fell on an epoch boundary (the DataLoader trainers; mid-epoch, the epoch's order is drawn
anew).
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import random
import shlex
import sys
from contextlib import contextmanager
from pathlib import Path

import torch

from pix2pix_demo.hub import atomic_write_bytes, resolve_device, save_model
from pix2pix_demo.imaging import tensor_to_image

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - exercised only where tqdm is missing
    class tqdm:  # noqa: N801 - the name the scripts import
        """A minimal stand-in (a GPU machine may have only torch, numpy, pillow, opencv and
        safetensors): a line every few percent."""

        def __init__(self, iterable=None, total=None, initial=0, disable=False, desc="", **_):
            self.iterable, self.total, self.n, self.disable, self.desc = iterable, total, initial, disable, desc
            self._shown = -1

        def __iter__(self):
            for item in self.iterable:
                yield item
                self.update(1)

        def update(self, count=1):
            self.n += count
            if self.disable or not self.total:
                return
            percent = int(100 * self.n / self.total) // 5 * 5
            if percent != self._shown:
                self._shown = percent
                print(f"{self.desc}: {self.n}/{self.total} ({percent}%)", flush=True)

        def set_postfix(self, **_):
            pass

        @staticmethod
        def write(text: str) -> None:
            print(text, flush=True)

        def close(self):
            pass


# ---------------------------------------------------------------- small pieces


def budget_timer(kind: str, threads: int, before: float = 0.0):
    """A function giving the seconds a run has spent on its `--time-budget`: `before` (what a resumed run
    had spent) plus the time since this call, on the "wall" clock (time.time) or the "cpu" clock (this
    process's CPU seconds over its torch threads, so another job on a shared machine does not shorten
    the run)."""
    import time

    if kind == "cpu":
        clock = lambda: time.process_time() / threads  # noqa: E731
    elif kind == "wall":
        clock = time.time
    else:
        raise ValueError(f"budget clock must be 'wall' or 'cpu', got {kind!r}")
    start = clock()
    return lambda: before + clock() - start


def stop_if_not_finite(losses: dict, step: int, checkpoint_path: Path, bar=None) -> None:
    """End a training run with a message (and the last good checkpoint kept) when a loss is NaN/inf."""
    if all(math.isfinite(value) for value in losses.values()):
        return
    if bar is not None:
        bar.close()
    kept = (f"the last good checkpoint ({checkpoint_path}) is kept; resume with --resume, perhaps with a lower --lr"
            if checkpoint_path.exists() else "no checkpoint was written yet")
    raise SystemExit(f"Training stopped: a loss became NaN/inf at step {step} ({losses}); {kept}.")


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, step: int, decay: float) -> None:
    """Move `ema`'s parameters towards `model`'s and copy its buffers. The decay warms up (as in Karras et
    al.): early on the average must not be dominated by the initial weights."""
    decay = min(decay, (1 + step) / (10 + step))
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


def init_generator_from(path, generator: torch.nn.Module, ema: torch.nn.Module | None, ignore=()) -> None:
    """--init-from an exported model folder: G (and its EMA) take its weights; the judges and optimisers
    start new, on a fresh schedule (a --resume of a finished run barely moves: its learning rate has
    decayed). SystemExit with a message for a folder that does not load or holds another architecture
    (another class, or a config that differs in a field other than `ignore`'s: options that hold no weights,
    such as SPADE's up-sampling, which a fine-tune may change)."""
    import dataclasses

    from pix2pix_demo.hub import ModelLoadError, load_model

    try:
        source = load_model(Path(path))
    except (ModelLoadError, FileNotFoundError, OSError, ValueError) as error:
        raise SystemExit(f"--init-from {path}: {error}") from None
    def compared(config) -> dict:
        return {key: value for key, value in dataclasses.asdict(config).items() if key not in ignore}

    ours = dataclasses.asdict(generator.config)
    if type(source) is not type(generator) or compared(source.config) != compared(generator.config):
        theirs = dataclasses.asdict(source.config) if hasattr(source, "config") else type(source).__name__
        raise SystemExit(f"--init-from {path}: its architecture {theirs} differs from this run's {ours}; pass the "
                         "same generator options.")
    generator.load_state_dict({key: value.float() for key, value in source.state_dict().items()})
    if ema is not None:
        ema.load_state_dict(generator.state_dict())
    print(f"Generator initialised from {path}; the judges start new, on a fresh schedule.", flush=True)


# a model's config keys that say how the app shows and runs it, not how it was trained: a fine-tune
# (--init-from an exported folder) keeps them, so a re-export stays in its tab, under its name, with its finish
APP_SETTINGS = ("kind", "label", "fur", "holes", "feather", "texture", "detail", "domain_coats")


def carried_settings(init_from) -> dict:
    """The APP_SETTINGS an --init-from model folder's config.json holds ({} for a checkpoint file, a Hub id or
    none); the trainers lay them over their export's metadata (over a default they set themselves, e.g.
    train.stargan's generated label), so a fine-tune is shown and run as the model it came from."""
    folder = Path(init_from) if init_from else None
    if folder is None or not (folder / "config.json").is_file():
        return {}
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return {key: config[key] for key in APP_SETTINGS if key in config}


def architecture_changes(saved: dict, args, names) -> list[str]:
    """"--option OLD in the checkpoint, NEW now" for each of `names` that differs between a checkpoint's
    saved args and this run's (options the checkpoint does not record are taken as unchanged)."""
    return [f"--{name.replace('_', '-')} {saved[name]!r} in the checkpoint, {getattr(args, name)!r} now"
            for name in names if name in saved and saved[name] != getattr(args, name)]


def refuse_other_architecture(checkpoint_path: Path, changes: list[str]) -> None:
    """SystemExit naming every change, when there are any."""
    if changes:
        raise SystemExit(f"--resume: {checkpoint_path} holds a different architecture ({'; '.join(changes)}). "
                         "Pass the checkpoint's options to continue it, or choose another --name for a new run.")


def remove_unfinished_writes(*folders: Path) -> list[Path]:
    """Delete the temporary files of atomic writes (`.NAME.*.tmp`, see hub.atomic_write_bytes) that a run
    killed in the middle of a checkpoint or export left behind; return them."""
    removed = []
    for folder in folders:
        for path in sorted(folder.glob(".*.tmp")) if folder.is_dir() else []:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def trim_log(path: Path, last_step: int) -> int:
    """Keep only the records of log.jsonl up to `last_step` (a resumed run logs the later steps again)
    and drop a line cut short by a kill; return how many records were dropped."""
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= last_step:
                kept.append(line)
                continue
        except (ValueError, KeyError, TypeError):
            pass
        dropped += 1
    if dropped:
        atomic_write_bytes(path, "".join(line + "\n" for line in kept).encode("utf-8"))
    return dropped


def linear_decay(fraction: float, decay_start: float) -> float:
    """The learning-rate factor: 1 until `decay_start` of the run, then linearly to 0 at its end."""
    return 1.0 if fraction < decay_start else max(0.0, (1 - fraction) / (1 - decay_start))


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} torch threads"


def setup_distributed(requested_device: str):
    """(device, rank, world size). torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: NCCL on GPUs, gloo on CPU."""
    import torch.distributed as dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return resolve_device(requested_device), 0, 1
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(requested_device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device, dist.get_rank(), world_size


def unwrap(module):
    """The module inside DistributedDataParallel (or the module itself)."""
    from torch.nn.parallel import DistributedDataParallel

    return module.module if isinstance(module, DistributedDataParallel) else module


@contextmanager
def evaluating(module: torch.nn.Module):
    """Eval mode and no gradients inside; the module's train/eval mode as before afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


def save_grid(path: Path, rows) -> None:
    """Stack image rows ((3, H, W) tensors in [-1, 1], each a row of pictures side by side) into one PNG
    (written atomically)."""
    buffer = io.BytesIO()
    tensor_to_image(torch.cat(list(rows), dim=1).float()).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def command_line(script: str) -> str:
    """The command that started this run, for the exported config."""
    return f"python -m {script} " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _storable(value):
    """An args value as a checkpoint stores it (torch.load(weights_only=True) reads no Path objects)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_storable(v) for v in value)
    return value


def add_run_arguments(group, *, log_every: int, checkpoint_every: int, sample_every: int | None = None,
                      device: bool = False, export_dtypes: tuple = (), export_dtype: str = "float32",
                      time_budget_help: str = "stop after this much time (with --steps: whichever comes first)"):
    """The options every trainer's run takes (how long, which clock, threads, resume, seed, how often to
    log / sample / checkpoint; with `device` --device, with `export_dtypes` --export-dtype)."""
    group.add_argument("--steps", type=int, default=None, help="training iterations")
    group.add_argument("--time-budget", type=float, default=None, metavar="MINUTES", help=time_budget_help)
    group.add_argument("--budget-clock", choices=("wall", "cpu"), default="wall",
                       help="what --time-budget counts: wall time, or this process's CPU time / torch threads "
                            "(a busy machine then does not shorten the run)")
    group.add_argument("--num-threads", type=int, default=None,
                       help="torch CPU threads (default: at most half the cores, fewer when the machine is busy: "
                            "pix2pix_demo.threads)")
    group.add_argument("--resume", action="store_true", help="continue from runs/NAME/checkpoint.pt")
    group.add_argument("--seed", type=int, default=0)
    if device:
        group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    if export_dtypes:
        group.add_argument("--export-dtype", choices=export_dtypes, default=export_dtype,
                           help="dtype of the exported weights (loading casts back)")
    group.add_argument("--log-every", type=int, default=log_every)
    if sample_every is not None:
        group.add_argument("--sample-every", type=int, default=sample_every)
    group.add_argument("--checkpoint-every", type=int, default=checkpoint_every)


# ---------------------------------------------------------------- the run


class Run:
    """One training run's state outside the networks: its folder (runs/NAME: checkpoint.pt, log.jsonl,
    samples/), its step and clock, and what its checkpoints hold.

    `time_key` names the clock in the checkpoint ("elapsed_s", or "spent_s" for the trainers whose
    checkpoints always said so); `python_rng` also keeps Python's `random` state (CycleGAN's image pool).
    """

    def __init__(self, args, script: str, *, run_dir: Path | None = None, exports=(), is_main: bool = True,
                 total_steps: int | None = None, time_key: str = "elapsed_s", python_rng: bool = False):
        self.args, self.script, self.is_main = args, script, is_main
        self.run_dir = Path(run_dir) if run_dir is not None else Path(args.runs) / args.name
        self.checkpoint_path = self.run_dir / "checkpoint.pt"
        self.total_steps = args.steps if total_steps is None else total_steps
        self.budget_s = args.time_budget * 60 if getattr(args, "time_budget", None) else None
        self.time_key, self.python_rng = time_key, python_rng
        self.step, self.epoch, self.spent_before = 0, 0, 0.0
        self.objects: dict = {}
        self.extra_state = lambda: {}  # a trainer's own checkpoint entries (pools, domains, ...)
        self.sample = None  # path -> None: writes a sample grid
        self.postfix = None  # losses -> the progress bar's postfix
        self.log_file = self.bar = None
        self.spent = lambda: self.spent_before
        if is_main:
            stale = remove_unfinished_writes(self.run_dir, *map(Path, exports))
            if stale:
                print(f"Removed {len(stale)} unfinished file(s) of an interrupted run: "
                      f"{', '.join(p.name for p in stale)}")

    # --- state

    def track(self, **objects) -> None:
        """Name the modules and optimisers a checkpoint holds (None: not in this run)."""
        self.objects.update(objects)

    def resume(self, architecture=(), *, changes=None, check_first: bool = True) -> dict | None:
        """With --resume: load the checkpoint into the tracked objects and continue its step, clock and
        RNG; refuse (naming every changed option) a checkpoint of another architecture. `changes`
        (state -> list) adds a trainer's own differences; with `check_first=False` the options are
        compared only when the weights do not load (other options may then change). Returns the
        checkpoint (None without --resume)."""
        if not self.args.resume:
            return None
        if not self.checkpoint_path.is_file():
            raise SystemExit(f"--resume: no checkpoint at {self.checkpoint_path}")
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        changed = architecture_changes(state.get("args", {}), self.args, architecture)
        own = list(changes(state)) if changes else []
        refuse_other_architecture(self.checkpoint_path, (changed if check_first else []) + own)
        try:
            for name, obj in self.objects.items():
                if obj is not None and name in state:
                    obj.load_state_dict(state[name])
        except RuntimeError as error:  # shapes or layers differ: say which option changed
            refuse_other_architecture(self.checkpoint_path, changed or [str(error).strip().splitlines()[0]])
            raise
        self.step, self.spent_before = state["step"], state[self.time_key]
        if "rng_cpu" in state:
            torch.set_rng_state(state["rng_cpu"])
        if self.python_rng and "rng_python" in state:
            random.setstate(state["rng_python"])
        if self.is_main:
            print(f"Resumed {self.checkpoint_path} at step {self.step} ({self.spent_before / 60:.1f} min trained).")
            dropped = trim_log(self.run_dir / "log.jsonl", self.step)
            if dropped:
                print(f"log.jsonl: dropped {dropped} record(s) after step {self.step} (they are trained again).")
        return state

    def save_checkpoint(self) -> None:
        state = {name: obj.state_dict() for name, obj in self.objects.items() if obj is not None}
        state.update(step=self.step, rng_cpu=torch.get_rng_state(),
                     args={k: _storable(v) for k, v in vars(self.args).items()}, **self.extra_state())
        state[self.time_key] = self.spent()
        if self.python_rng:
            state["rng_python"] = random.getstate()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.checkpoint_path, buffer.getvalue())

    # --- the loop

    def start(self, sample=None, postfix=None, bar: bool = True, **bar_options) -> None:
        """Make the run folder, open the log (appending), show the bar and start the clock."""
        self.sample, self.postfix = sample or self.sample, postfix or self.postfix
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.sample is not None:
                (self.run_dir / "samples").mkdir(exist_ok=True)
            self.log_file = open(self.run_dir / "log.jsonl", "a")
        if bar:
            self.bar = tqdm(total=self.total_steps, initial=self.step, disable=not self.is_main, dynamic_ncols=True,
                            desc=self.args.name, **bar_options)
        self.spent = budget_timer(self.args.budget_clock, torch.get_num_threads(), self.spent_before)

    def progress(self) -> float:
        """The fraction of the run done: by steps or by the time budget, whichever is further."""
        fractions = [0.0]
        if self.total_steps:
            fractions.append(self.step / self.total_steps)
        if self.budget_s:
            fractions.append(self.spent() / self.budget_s)
        return max(fractions)

    def done(self) -> bool:
        return (self.total_steps is not None and self.step >= self.total_steps) or self.progress() >= 1.0

    def batches(self, loader, dataset=None, sampler=None, steps_per_epoch: int | None = None):
        """The loader's batches, epoch after epoch, until the run is done (checked before each batch is
        drawn, so the last checkpoint's RNG is the one the next step would have used). Sets
        `dataset.epoch` (the augmentation seed) and the sampler's epoch; `self.epoch` counts them."""
        self.epoch = self.step // (steps_per_epoch or max(1, len(loader)))
        while not self.done():
            if dataset is not None:
                dataset.epoch = self.epoch
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(self.epoch)
            iterator = iter(loader)
            while not self.done():
                try:
                    batch = next(iterator)
                except StopIteration:
                    break
                yield batch
            else:
                return
            self.epoch += 1

    def advance(self, losses: dict | None = None, ema=None, ema_step: int | None = None) -> None:
        """After a step's optimiser updates: stop on a NaN/inf loss, move the EMA (`ema` = (average,
        model, decay)), count the step."""
        if losses is not None:
            stop_if_not_finite(losses, self.step, self.checkpoint_path, self.bar)
        if ema is not None and ema[0] is not None:
            update_ema(ema[0], ema[1], self.step if ema_step is None else ema_step, ema[2])
        self.step += 1
        if self.bar is not None:
            self.bar.update(1)

    def due(self, every: int, first: bool = False) -> bool:
        return self.is_main and (self.step % every == 0 or (first and self.step == 1))

    def write_log(self, record: dict, echo: bool = False) -> None:
        self.log_file.write(json.dumps(record) + "\n")
        self.log_file.flush()
        if echo:
            print(record, flush=True)

    def end_step(self, losses: dict, ema=None, **fields) -> None:
        """`advance`, then what is due: a log record {"step", **fields, "elapsed_s", **losses}, the
        sample grid, the checkpoint."""
        self.advance(losses, ema)
        if self.due(self.args.log_every):
            self.write_log({"step": self.step, **fields, "elapsed_s": round(self.spent(), 1),
                            **{k: round(v, 5) for k, v in losses.items()}})
            if self.postfix is not None and self.bar is not None:
                self.bar.set_postfix(**self.postfix(losses))
        self.after_step()

    def after_step(self) -> None:
        """The sample grid and the checkpoint, when due."""
        if self.sample is not None and self.due(self.args.sample_every):
            self.sample(self.sample_path())
        if self.due(self.args.checkpoint_every):
            self.save_checkpoint()

    def sample_path(self) -> Path:
        return self.run_dir / "samples" / f"step_{self.step:07d}.png"

    def finish(self) -> None:
        """The last checkpoint and sample grid; the bar and the log closed."""
        if self.bar is not None:
            self.bar.close()
        if self.is_main:
            self.save_checkpoint()
            if self.sample is not None:
                self.sample(self.sample_path())
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    # --- export

    def command(self) -> str:
        return command_line(self.script)

    def export(self, model, folder, metadata: dict, dtype=torch.float32) -> Path:
        """The finished model as a model folder (config.json with `metadata`, weights, card)."""
        return save_model(model, Path(folder), metadata, dtype=dtype)
