// Sharpness-aware minimisation (Foret et al., ICLR 2021; for unlearning that resists relearning,
// NPO+SAM in arXiv 2502.05374): each step climbs to the worst point within an L2 ball of radius ρ
// around the weights, w + ρ·g/‖g‖ (g the step's gradient, ‖g‖ over every trainable tensor), takes the
// gradient there, and returns to w before the optimizer applies it. Flat minima are harder for a few
// fine-tuning steps to leave, so forgotten knowledge is harder to relearn.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';

/**
 * Moves every parameter that has a gradient to w + ρ·g/‖g‖ and returns the function that puts the
 * weights back exactly (a copy, not a subtraction, so rounding cannot drift them). A zero gradient
 * leaves the weights where they are.
 */
export function samAscend(params: readonly Tensor[], rho: number): () => void {
  const withGrad = params.filter((p) => p.grad !== null);
  // The loop's own measure of ‖g‖ (an infinite bound scales nothing).
  const norm = torch.clipGradNorm(withGrad, Infinity);
  const saved = torch.noGrad(() => withGrad.map((p) => p.detach().clone()));
  if (norm > 0)
    torch.noGrad(() => {
      for (const p of withGrad) torch.tidy(() => p.add_(p.grad!.mul(rho / norm)));
    });
  return () => {
    torch.noGrad(() => {
      withGrad.forEach((p, k) => p.copy_(saved[k]!));
    });
    torch.dispose(saved);
  };
}
