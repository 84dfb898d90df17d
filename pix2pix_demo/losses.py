"""GAN objectives: vanilla (the paper's), least squares, hinge and WGAN with gradient penalty.

Every objective is written on raw discriminator outputs (logits / critic scores), so the
discriminator never ends in a sigmoid. Usage, per training step:

    loss_d = gan.discriminator_loss(D(real), D(fake.detach()))   [+ gradient penalty for wgan-gp]
    loss_g = gan.generator_loss(D(fake))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_LOSSES = ("vanilla", "lsgan", "hinge", "wgan-gp")


class GANLoss:
    def __init__(self, mode: str = "vanilla"):
        if mode not in GAN_LOSSES:
            raise ValueError(f"GAN loss must be one of {', '.join(GAN_LOSSES)}; got {mode!r}")
        self.mode = mode

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Loss for D given its outputs on real and on generated samples."""
        if self.mode == "vanilla":
            return 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                          + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        if self.mode == "lsgan":
            return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))
        if self.mode == "hinge":
            return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
        return fake.mean() - real.mean()  # wgan-gp critic (add gradient_penalty)

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """Adversarial loss for G given D's output on generated samples."""
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
        if self.mode == "lsgan":
            return F.mse_loss(fake, torch.ones_like(fake))
        return -fake.mean()  # hinge and wgan-gp


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): weight · E[(‖∇ critic(x̂)‖₂ − 1)²] on random
    interpolates x̂ between real and fake samples. `critic` is called on x̂ only."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return weight * ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
