// `--lora r=8,alpha=16,targets=q_proj,v_proj`: a LoRA configuration from its command-line spec.
// Apart from lora.ts so that parsing flags never loads the native addon.
import { LetheError, invalidArgument } from '../util/errors.js';
import type { LoraConfig } from './lora.js';

/** "r=8,alpha=16,targets=q_proj,v_proj[,dropout=0.05][,rslora]" */
export function parseLora(spec: string): LoraConfig {
  const out: LoraConfig = { r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ['q_proj', 'v_proj'] };
  let targets: string[] | null = null;
  let last = '';
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0 && last === 'targets') {
      targets!.push(part);
      continue;
    }
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    last = k;
    const num = (name: string, ok: (n: number) => boolean, expected: string) => {
      const n = Number(v);
      if (v === '' || !ok(n)) throw invalidArgument('--lora', name, expected, v);
      return n;
    };
    if (k === 'r') out.r = num('r', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    else if (k === 'alpha') out.loraAlpha = num('alpha', (n) => n > 0, 'a positive number');
    else if (k === 'dropout') out.loraDropout = num('dropout', (n) => n >= 0 && n < 1, 'a number in [0, 1)');
    else if (k === 'targets') targets = v ? [v] : [];
    else if (k === 'rslora' && v === '') out.useRslora = true;
    else throw new LetheError('BAD_INPUT', `--lora: unknown key '${k}' (expected r, alpha, dropout, targets, rslora)`);
  }
  if (targets) {
    if (!targets.length) throw new LetheError('BAD_INPUT', "--lora: 'targets' names no module");
    out.targetModules = targets;
  }
  return out;
}
