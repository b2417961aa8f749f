// Distill's loss and its gradient against an independent float64 PyTorch evaluation
// (test/unlearn/ref/make_distill_reference.py): KL(teacher_T ‖ student_T)·T² over real positions.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { torch } from '../../src/index.js';
import { distillationLoss } from '../../src/unlearn/methods/distill.js';
import { requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';

interface Ref {
  student: number[][][];
  teacher: number[][][];
  mask: number[][];
  cases: { temperature: number; loss: number; grad: number[][][] }[];
}

test('distillation loss and gradient match PyTorch (float64) at three temperatures, padding excluded', () => {
  const ref = JSON.parse(readFileSync(requireRepoFixture('unlearn', 'ref', 'distill_reference.json'), 'utf8')) as Ref;
  for (const c of ref.cases) {
    torch.tidy(() => {
      const student = torch.tensor(ref.student, { dtype: 'float64' }).requiresGrad_();
      const loss = distillationLoss(
        student,
        torch.tensor(ref.teacher, { dtype: 'float64' }),
        torch.tensor(ref.mask, { dtype: 'float64' }),
        c.temperature,
      );
      loss.backward();
      assertClose(loss.item(), c.loss, { rtol: 1e-4, atol: 1e-6, what: `loss at T=${c.temperature}` });
      assertClose(student.grad!.toArray(), c.grad, { rtol: 1e-4, atol: 1e-6, what: `d loss / d student logits at T=${c.temperature}` });
    });
  }
});
