// Rotary position embeddings as HF Llama computes them: inv_freq from rope_theta (with the
// llama3 / linear scalings), cos/sin of position × inv_freq duplicated over both halves.
import * as torch from '../torch/index.js';
import type { ModelConfig } from './config.js';

/** inv_freq[k] = 1 / theta^(2k/d), k < d/2, scaled as the config says; float32 like HF. */
export function ropeInvFreq(config: ModelConfig): number[] {
  const d = config.headDim;
  let inv = Array.from({ length: d / 2 }, (_, k) => 1 / config.ropeTheta ** (Math.fround(2 * k) / d));
  inv = inv.map(Math.fround);
  const s = config.ropeScaling;
  if (s.type === 'linear') inv = inv.map((f) => f / s.factor);
  if (s.type === 'llama3') {
    const old = s.originalMaxPositionEmbeddings!;
    const lowWavelen = old / s.lowFreqFactor!;
    const highWavelen = old / s.highFreqFactor!;
    inv = inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / s.factor;
      const smooth = (old / wavelen - s.lowFreqFactor!) / (s.highFreqFactor! - s.lowFreqFactor!);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
  }
  return inv.map(Math.fround);
}

/** cos and sin, each [B, T, headDim], for integer positions [B, T]. */
export function ropeCosSin(invFreq: torch.Tensor, positionIds: torch.Tensor, dtype: torch.DType): { cos: torch.Tensor; sin: torch.Tensor } {
  const freqs = positionIds.to('float32').unsqueeze(-1).mul(invFreq); // [B, T, D/2]
  const emb = torch.cat([freqs, freqs], -1); // [B, T, D]
  return { cos: emb.cos().to(dtype), sin: emb.sin().to(dtype) };
}

function rotateHalf(x: torch.Tensor): torch.Tensor {
  const half = x.size(-1) / 2;
  return torch.cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
}

/** q, k: [B, heads, T, D]; cos, sin: [B, T, D]. */
export function applyRope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor): torch.Tensor {
  const c = cos.unsqueeze(1);
  const s = sin.unsqueeze(1);
  return x.mul(c).add(rotateHalf(x).mul(s));
}
