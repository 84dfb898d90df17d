"""GAN objectives: vanilla (the paper's), least squares, hinge and WGAN with gradient penalty, and the
energy-based EBGAN and BEGAN.

Every objective is written on raw discriminator outputs (logits / critic scores), so the
discriminator never ends in a sigmoid. Usage, per training step:

    loss_d = gan.discriminator_loss(D(real), D(fake.detach()))   [+ gradient penalty for wgan-gp]
    loss_g = gan.generator_loss(D(fake))

EBGAN and BEGAN are written on *energies*, one per sample: the reconstruction error of an auto-encoder
discriminator (pix2pix_demo.models.autoencoder), low for real images. Same two calls; BEGAN also
keeps its equilibrium variable k_t, advanced once per step with `update(real_energy, fake_energy)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_LOSSES = ("vanilla", "lsgan", "hinge", "wgan-gp")  # on PatchGAN logits
ENERGY_LOSSES = ("ebgan", "began")  # on auto-encoder energies


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


def feature_matching(discriminator, fake_input: torch.Tensor, real_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """pix2pixHD's feature-matching loss on a PatchGAN (`discriminator.features`: its activations, then its
    logits): (L1 between the features of the generated and of the real input, summed over D's layers
    (the real ones without gradient), D's logits on the generated input for the adversarial term).
    A perceptual loss from our own discriminator, used where no VGG weights exist offline."""
    fake_features = discriminator.features(fake_input)
    with torch.no_grad():
        real_features = discriminator.features(real_input)
    loss = sum((fake.float() - real.float()).abs().mean() for fake, real in zip(fake_features[:-1], real_features[:-1]))
    return loss, fake_features[-1]


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0,
                     per_pixel: bool = False, reference_pixels: int | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): weight · E[(‖∇ critic(x̂)‖₂ − 1)²] on random
    interpolates x̂ between real and fake samples. `critic` is called on x̂ only.

    per_pixel: the norm is taken over the channels at every pixel and the penalty averaged over pixels
    (as the SinGAN code does for its patch critic), instead of over the whole image: for a critic
    that outputs a score map, a whole-image norm of the summed scores holds every patch's gradient to
    about 1/sqrt(number of pixels), which shrinks the adversarial signal as the image grows.
    reference_pixels: the whole-image norm is scaled by sqrt(reference_pixels / pixels), so a patch
    critic on any image size is held to the per-patch gradient it would have on a reference_pixels image."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grads.norm(2, dim=1) if per_pixel else grads.flatten(1).norm(2, dim=1)
    if reference_pixels and not per_pixel:
        norms = norms * (reference_pixels / (grads.shape[-1] * grads.shape[-2])) ** 0.5
    return weight * ((norms - 1) ** 2).mean()


class EBGANLoss:
    """EBGAN (Zhao et al. 2017): L_D = D(x) + [m − D(G(z))]⁺,  L_G = D(G(z)) (+ pull-away term, below).
    D is an energy (reconstruction error): the discriminator lowers it on real samples and pushes it
    above the margin m on generated ones; the generator lowers it on its samples."""

    def __init__(self, margin: float = 0.1):
        if margin <= 0:
            raise ValueError(f"EBGAN margin must be positive, got {margin}")
        self.margin = margin

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return real.mean() + F.relu(self.margin - fake).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean()


def pull_away_term(features: torch.Tensor) -> torch.Tensor:
    """EBGAN's pull-away term on a batch of codes (N, ...): the mean squared cosine similarity between
    every two different samples, 1/(N(N−1)) Σ_{i≠j} cos²(S_i, S_j). It is low when the generated
    samples' codes point in different directions (against mode collapse); 0 for a batch of one."""
    n = features.shape[0]
    if n < 2:
        return features.new_zeros(())
    unit = F.normalize(features.flatten(1).float(), dim=1)
    cosine = unit @ unit.t()
    off_diagonal = cosine.square().sum() - cosine.diagonal().square().sum()
    return off_diagonal / (n * (n - 1))


class BEGANLoss:
    """BEGAN (Berthelot et al. 2017): L_D = L(x) − k_t·L(G(z)),  L_G = L(G(z)), with L the
    auto-encoder's reconstruction error and k_t ∈ [0, 1] the equilibrium control, advanced by
    `update`: k_{t+1} = clip(k_t + λ_k (γ·L(x) − L(G(z))), 0, 1). γ = E[L(G(z))] / E[L(x)] is the
    balance aimed at (lower: the auto-encoder favours real images, sharper but less varied samples).
    M_global = L(x) + |γ·L(x) − L(G(z))| measures convergence (lower is better)."""

    def __init__(self, gamma: float = 0.5, lambda_k: float = 0.001, k: float = 0.0):
        if not 0 < gamma <= 1:
            raise ValueError(f"BEGAN gamma must be in (0, 1], got {gamma}")
        self.gamma, self.lambda_k, self.k = gamma, lambda_k, float(k)

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return real.mean() - self.k * fake.mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean()

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        """Advance k_t from this step's energies (no gradient); return M_global."""
        real_mean, fake_mean = float(real.detach().float().mean()), float(fake.detach().float().mean())
        balance = self.gamma * real_mean - fake_mean
        self.k = min(1.0, max(0.0, self.k + self.lambda_k * balance))
        return real_mean + abs(balance)
