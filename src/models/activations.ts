import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { LetheError } from '../util/errors.js';

/** HF's ACT2FN names → functions. */
export function activation(name: string): (x: Tensor) => Tensor {
  switch (name) {
    case 'silu':
    case 'swish':
      return (x) => torch.silu(x);
    case 'gelu':
      return (x) => torch.gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return (x) => torch.gelu(x, 'tanh');
    case 'relu':
      return (x) => torch.relu(x);
    case 'tanh':
      return (x) => torch.tanh(x);
    default:
      throw new LetheError('BAD_INPUT', `activation '${name}' is not supported (silu, gelu, gelu_new, gelu_pytorch_tanh, relu, tanh)`);
  }
}
