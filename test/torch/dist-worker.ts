// One rank for distributed.test.ts: joins the group from the environment, runs every collective
// and prints what it got as one JSON line (or the error message).
import * as torch from '../../src/torch/index.js';

const d = torch.distributed;
try {
  d.init(d.optionsFromEnv()!);
  const r = d.rank();
  const sum = d.allReduce(torch.tensor([r + 1, 10 * r], { dtype: 'float32' }));
  const max = d.allReduce(torch.tensor([r], { dtype: 'int64' }), 'max');
  const b = d.broadcast(
    torch.tensor(
      [
        [r, r],
        [r, r],
      ],
      { dtype: 'float64' },
    ),
    1,
  );
  const gathered = d.allGather(torch.tensor([r * 2], { dtype: 'float32' }));
  // Buckets of 16 bytes: the three tensors go in two collectives and come back in their shapes.
  const bucketed = [
    torch.full([2, 2], r + 1, { dtype: 'float32' }),
    torch.full([3], 2 * r, { dtype: 'float32' }),
    torch.full([1], 5, { dtype: 'float32' }),
  ];
  d.allReduceBuckets(bucketed, 'sum', 16);
  d.barrier();
  console.log(
    JSON.stringify(
      {
        rank: r,
        world: d.worldSize(),
        sum: [...sum.data()],
        max: Number(max.item()),
        broadcast: b.toArray(),
        gathered: gathered.map((t) => t.item()),
        bucketed: bucketed.map((t) => ({ shape: t.shape, values: [...t.data()] })),
      },
      (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v),
    ),
  );
  if (process.env.DIE_AFTER === String(r)) process.exit(3);
  if (process.env.DIE_AFTER) d.allReduce(sum); // the peer is gone: this must fail, not hang
} catch (err) {
  console.log(JSON.stringify({ error: (err as Error).message }));
  process.exit(1);
}
