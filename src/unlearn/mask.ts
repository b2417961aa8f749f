// Parameter isolation ("sparse fine-tuning"): only the weights that matter most to the forget
// data move. Saliency = |∂ NLL(forget) / ∂θ| accumulated over the forget set, optionally divided
// by the retain gradient's (weights the retain data needs are spared); the top fraction p of the
// matrix weights (or of whole rows: neurons) stays trainable, every other gradient is zeroed.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import { modelLoss } from '../models/loss.js';
import { LetheError } from '../util/errors.js';
import { namedTrainable } from '../train/loop.js';
import { encodeBatch, type Row } from './batch.js';

export interface MaskSpec {
  kind: 'saliency';
  /** Fraction of weights (or rows) kept trainable, in (0, 1]. */
  p: number;
  /** Whole rows (output neurons) instead of single weights. */
  rows?: boolean;
  /** Saliency relative to the retain gradient (|g_forget| / (|g_retain| + eps)). */
  relative?: boolean;
}

/** "saliency:p=0.01[,rows][,relative]" */
export function parseMask(spec: string): MaskSpec {
  const m = /^saliency(?::(.*))?$/.exec(spec.trim());
  if (!m) throw new LetheError('BAD_INPUT', `--mask must look like saliency:p=0.01[,rows][,relative], got '${spec}'`);
  const out: MaskSpec = { kind: 'saliency', p: 0.01 };
  for (const part of (m[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k === 'p') {
      const p = Number(v);
      if (!(p > 0 && p <= 1)) throw new LetheError('BAD_INPUT', `--mask: 'p' must be a number in (0, 1], got '${v}'`);
      out.p = p;
    } else if (k === 'rows' && v === undefined) out.rows = true;
    else if (k === 'relative' && v === undefined) out.relative = true;
    else throw new LetheError('BAD_INPUT', `--mask: unknown option '${part}' (expected p=…, rows, relative)`);
  }
  return out;
}

/** Accumulated |gradient| of the mean NLL over `examples`, per trainable matrix. */
function gradMagnitudes(
  model: CausalLM,
  examples: Row[],
  padId: number,
  device: torch.Device,
  params: Map<string, Tensor>,
): Map<string, Tensor> {
  const acc = new Map<string, Tensor>();
  for (let i = 0; i < examples.length; i += 8) {
    const b = encodeBatch(examples.slice(i, i + 8), padId, device);
    torch.tidy(() => modelLoss(model, b.ids, b.labels, { attentionMask: b.attentionMask }).backward());
    torch.dispose([b.ids, b.labels, b.attentionMask]);
    torch.noGrad(() => {
      for (const [name, p] of params) {
        torch.tidy(() => {
          const g = p.grad;
          if (!g) return;
          const prev = acc.get(name);
          if (prev) prev.add_(g.abs());
          else acc.set(name, torch.keep(g.abs()));
        });
      }
    });
    for (const p of params.values()) p.grad = null;
  }
  return acc;
}

export async function saliencyMasks(
  model: CausalLM,
  spec: MaskSpec,
  forgetEx: Row[],
  retainEx: Row[],
  padId: number,
  device: torch.Device,
): Promise<Map<Tensor, Tensor>> {
  if (spec.relative && !retainEx.length) throw new LetheError('BAD_INPUT', '--mask saliency:relative needs --retain data');
  // Only matrices: norms and biases are few and shared by everything.
  const params = new Map([...namedTrainable(model)].filter(([, t]) => t.ndim >= 2));
  if (!params.size) throw new LetheError('BAD_INPUT', '--mask: no trainable weight matrix to mask');
  const f = gradMagnitudes(model, forgetEx, padId, device, params);
  const r = spec.relative ? gradMagnitudes(model, retainEx, padId, device, params) : null;
  const scores = new Map<string, Tensor>();
  torch.noGrad(() => {
    for (const [name, g] of f) {
      const s = torch.tidy(() => {
        const base = r ? g.div(r.get(name)!.add(1e-8)) : g.clone();
        return spec.rows ? base.sum(1) : base.reshape([-1]);
      });
      scores.set(name, torch.keep(s));
    }
  });
  // One global threshold over every score.
  const all = torch.tidy(() =>
    torch.cat(
      [...scores.values()].map((s) => s.reshape([-1]).to('float32').to('cpu')),
      0,
    ),
  );
  const k = Math.max(1, Math.round(spec.p * all.numel()));
  const threshold = torch.tidy(() => torch.topk(all, k, 0).values.min().item());
  all.dispose();
  const masks = new Map<Tensor, Tensor>();
  for (const [name, s] of scores) {
    const p = params.get(name)!;
    const m = torch.tidy(() => {
      const keep = s.ge(threshold).to(p.dtype);
      return spec.rows ? keep.unsqueeze(1).expand(p.shape).contiguous() : keep.reshape(p.shape);
    });
    masks.set(p, torch.keep(m));
  }
  // Parameters with no mask entry (norms, biases) stay frozen under a mask.
  for (const [, t] of namedTrainable(model)) if (t.ndim < 2) t.requiresGrad = false;
  torch.dispose([...f.values(), ...(r ? r.values() : []), ...scores.values()]);
  return masks;
}
