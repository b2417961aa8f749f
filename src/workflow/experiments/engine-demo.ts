// The engine check `lethe demo` starts with: a small MLP fitted with
// AdamW and a cosine schedule, printing a loss that must fall.
import * as torch from '../../torch/index.js';

export interface DemoResult {
  firstLoss: number;
  lastLoss: number;
  steps: number;
  seconds: number;
}

/** Fits y = sin(3x) + x² on [-1, 1] with a 1-64-64-1 GELU MLP. */
export function trainDemo(log: (line: string) => void = console.log, steps = 300): DemoResult {
  torch.manualSeed(0);
  // nn.Linear's initialisation: uniform in ±1/sqrt(fan_in) for weights and biases.
  const uniform = (shape: number[], fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    return torch.keep(
      torch
        .noGrad(() =>
          torch
            .rand(shape)
            .mul(2 * bound)
            .sub(bound),
        )
        .requiresGrad_(),
    );
  };
  const params = [uniform([64, 1], 1), uniform([64], 1), uniform([64, 64], 64), uniform([64], 64), uniform([1, 64], 64), uniform([1], 64)];
  const [w1, b1, w2, b2, w3, b3] = params as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
  const x = torch.keep(torch.linspace(-1, 1, 256).reshape([256, 1]));
  const y = torch.keep(torch.tidy(() => torch.sin(x.mul(3)).add(x.square())));
  const optimizer = new torch.optim.AdamW(params, { lr: 1e-2, weightDecay: 0 });
  const schedule = torch.optim.cosineWarmup(optimizer, { warmupSteps: 20, totalSteps: steps });
  const started = Date.now();
  let firstLoss = NaN;
  let lastLoss = NaN;
  for (let step = 1; step <= steps; step++) {
    lastLoss = torch.tidy(() => {
      const h1 = torch.gelu(torch.linear(x, w1, b1));
      const h2 = torch.gelu(torch.linear(h1, w2, b2));
      const loss = torch.mseLoss(torch.linear(h2, w3, b3), y);
      loss.backward();
      return loss.item();
    });
    optimizer.step();
    optimizer.zeroGrad();
    schedule.step();
    if (step === 1) firstLoss = lastLoss;
    if (step === 1 || step % 50 === 0)
      log(`step ${String(step).padStart(4)}  loss ${lastLoss.toFixed(6)}  lr ${schedule.lr.toExponential(2)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  optimizer.dispose();
  torch.dispose([params, x, y]);
  return { firstLoss, lastLoss, steps, seconds };
}
