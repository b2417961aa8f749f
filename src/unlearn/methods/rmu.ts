// RMU (Li et al. 2024, WMDP's representation misdirection): at one decoder layer l, push the forget
// tokens' hidden states towards a fixed random direction u = c·r/‖r‖ (r ~ U[0,1)^H, drawn once from the
// seed) and keep the retain tokens' hidden states where the frozen starting model has them; only a few
// MLP weights below l train:
//   forget = act(h_l(forget), u),   retain = act(h_l(retain), h_l^ref(retain))   (EMBED_DIFF),
//   act(a, b) = mean over rows of (Σ over answer tokens of mean_H (a − b)²) / answer tokens.
// open-unlearning src/trainer/unlearn/rmu.py (forward hook on model.layers.<l>, compute_activation_loss);
// defaults from configs/trainer/RMU.yaml (γ 1, α 1000, steering_coeff 300, retain EMBED_DIFF), with
// the layer and the trainable weights (its layers 5–7 down_proj at layer 7 of 32) scaled to the model:
// the middle layer, and down_proj of l−2..l.
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import type { CausalLM } from '../../models/model.js';
import { IGNORE_INDEX } from '../../models/loss.js';
import { LetheError, invalidArgument } from '../../util/errors.js';
import { defineMethod } from '../registry.js';
import { activationLoss, forgetRetainArgs, layerOutput, retainTerm, weighted } from '../losses.js';

/** The key of the control vector u in the method state. */
export const CONTROL_VECTOR = 'control_vector';

/** The layer RMU works at: the given one, or (−1) the middle decoder layer ⌊(L−1)/2⌋. */
export function rmuLayer(numLayers: number, layer: number): number {
  return layer === -1 ? Math.floor((numLayers - 1) / 2) : layer;
}

/** The MLP output weights of layers l−2..l (down_proj in Llama-family models, c_proj in GPT-2). */
export function rmuTrainable(model: CausalLM, layer: number): string[] {
  const out: string[] = [];
  for (let i = Math.max(0, layer - 2); i <= layer; i++) {
    const name = [`model.layers.${i}.mlp.down_proj.weight`, `transformer.h.${i}.mlp.c_proj.weight`].find((n) => model.params.has(n));
    if (name) out.push(name);
  }
  return out;
}

const args = forgetRetainArgs.extend({
  alpha: z.number().min(0).default(1000).describe('weight of the retain term'),
  retain_loss_type: z
    .enum(['EMBED_DIFF', 'NLL', 'KL'])
    .default('EMBED_DIFF')
    .describe("retain term: layer-l hidden states to the starting model's (EMBED_DIFF), NLL, or KL"),
  steering_coeff: z.number().positive().default(300).describe('norm c of the control vector the forget hidden states are pushed to'),
  layer: z.number().int().min(-1).default(-1).describe('decoder layer (0-based) whose output is steered; -1: the middle one'),
  trainable_params: z
    .array(z.string())
    .default([])
    .describe('parameter-name globs to train; empty: the MLP output weights of layers l-2..l'),
});

export const RMU = defineMethod({
  name: 'RMU',
  description:
    "representation misdirection: steer layer-l hidden states of forget tokens to a random vector, keep retain ones as the starting model's; trains a few MLP weights",
  args,
  // steering_coeff is RMU's key argument (open-unlearning: tune per model and data); its scale is the hidden size's.
  search: { lr: [1e-4, 1e-3], args: { steering_coeff: [1, 10, 100, 300] } },
  needs: (a) => ({ retain: 'required', referenceModel: a.retain_loss_type !== 'NLL' }),
  setup: (ctx) => {
    const n = ctx.model.config.numLayers;
    const layer = rmuLayer(n, ctx.args.layer);
    if (!(layer >= 0 && layer < n - 1))
      throw invalidArgument(
        'forget',
        'layer',
        `-1 or a decoder layer from 0 to ${n - 2} (the last one's output is only seen after the final norm)`,
        ctx.args.layer,
      );
    // Drawn on the CPU from the seed, so a resumed run (setup runs again) and any device get the same u.
    torch.manualSeed(ctx.seed);
    const u = torch.keep(
      torch.tidy(() => {
        const r = torch.rand([ctx.model.config.hiddenSize], { dtype: 'float32' });
        return r
          .div(r.norm())
          .mul(ctx.args.steering_coeff)
          .to(ctx.model.device as torch.Device);
      }),
    );
    ctx.state.tensors.get(CONTROL_VECTOR)?.dispose();
    ctx.state.tensors.set(CONTROL_VECTOR, u);
    ctx.trainOnly(ctx.args.trainable_params.length ? ctx.args.trainable_params : rmuTrainable(ctx.model, layer));
  },
  loss: (ctx, batch) => {
    const u = ctx.state.tensors.get(CONTROL_VECTOR);
    if (!u) throw new LetheError('INTERNAL', 'RMU: no control vector (setup did not run)');
    const layer = rmuLayer(ctx.model.config.numLayers, ctx.args.layer);
    const f = batch.forget;
    const forget = activationLoss(layerOutput(ctx.model, f, layer), u, f.labels.ne(IGNORE_INDEX));
    let retain: Tensor | null = null;
    const r = batch.retain;
    if (r && ctx.args.retain_loss_type === 'EMBED_DIFF') {
      if (!ctx.reference) throw new LetheError('INTERNAL', "RMU's EMBED_DIFF retain term needs the reference model");
      const ref = ctx.reference;
      const target = torch.noGrad(() => layerOutput(ref, r, layer));
      retain = activationLoss(layerOutput(ctx.model, r, layer), target, r.labels.ne(IGNORE_INDEX));
    } else if (r) {
      retain = retainTerm({ ...ctx, args: { retain_loss_type: ctx.args.retain_loss_type as 'NLL' | 'KL' } }, batch);
    }
    return weighted(ctx.args.gamma, ctx.args.alpha, forget, retain);
  },
});
