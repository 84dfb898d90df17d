"""SinGAN: train on one image, then sample, edit, harmonize, paint, super-resolve and animate.

    from pix2pix_demo.singan import TrainOptions, train_singan, sample
    model, stats = train_singan(image, TrainOptions(max_size=250, time_budget=3))
    picture = sample(model, seed=1, width_factor=2.0)          # PIL in / PIL out everywhere

Where things live (every name below is importable from `pix2pix_demo.singan`):

- the networks (one generator and critic per scale, `SinGAN`, `SinGANConfig`): `pix2pix_demo.models.singan`;
- training options, limits and the pyramid / cost model (`TrainOptions`, `pyramid_shapes`, `iteration_plan`;
  no torch, so the app's first page can build the tab without it): `pix2pix_demo.singan_options`;
- `training`: `train_singan`, the recipe (its docstring lists what differs from the paper and why);
- `applications`: `sample`, `edit`, `harmonize`, `paint`, `super_resolve`, `animate`;
- `layout`: where a random sample's layout comes from ("warp": the reconstruction warped at random; "noise");
- `finish`: the finish from the photo (`finish_from_photo`: a sample's texture rebuilt from the photo's patches);
- `benchmark`: the shipped models' sample / finish times and the applications on the largest inputs
  (`python -m pix2pix_demo.benchmark`).

The trainer CLI is `python -m train.singan`, the app's tab `pix2pix_demo.ui.singan_tab` (layout) and
`pix2pix_demo.ui.singan_handlers` (what its buttons do).
"""

from ..imaging import image_to_tensor, tensor_to_image  # noqa: F401 - used as singan.image_to_tensor by scripts
from ..models.singan import ScaleDiscriminator, SinGAN, SinGANConfig, upsample  # noqa: F401
from ..singan_options import (  # noqa: F401 - re-exported: pix2pix_demo.singan.TrainOptions etc.
    MAX_FRAMES, MAX_INPUT_SIDE, MAX_OUTPUT_PIXELS, MAX_SUPER_RESOLVE_SIDE, MAX_TRAIN_SIZE, MIN_IMAGE_SIZE,
    TrainOptions, concurrent_window, default_injection_scale, iteration_cost_ms, iteration_plan, pyramid_shapes)
from .applications import (  # noqa: F401
    _as_rgb, _check_scale, _inject, _output_shapes, _working_input, animate, animation_frames, edit, harmonize,
    paint, prepare_mask, quantize_to_palette, sample, super_resolve, training_palette)
from .benchmark import benchmark_section, bounds_section, reference_image, shipped_models  # noqa: F401
from .finish import FINISH_OPTIONS, _kept_photo, finish_from_photo, photo  # noqa: F401
from .layout import layout_scale, warp_grid, warped_layout  # noqa: F401
from .training import (  # noqa: F401
    TrainingCancelled, _load_critic, concurrent_inputs, critic_layers, critic_rows, image_pyramid,
    random_sample_tensor, resolve_plan, train_singan)
