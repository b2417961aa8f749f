// META.md and meta.html: the metrics ranked by faithfulness (AUC separating models that hold the
// forget knowledge from models that do not), with robustness under each variant.
import type { MetaJson } from '../meta.js';
import { direction, escapeHtml as h, escapeMd, fmt } from './format.js';
import { page } from './html.js';

const columns = (m: MetaJson) => [
  'rank',
  'metric',
  'group',
  'better',
  'knowledge read as',
  'faithfulness',
  ...m.variants.map((v) => `robustness (${v})`),
  'note',
];

function rows(m: MetaJson): string[][] {
  let rank = 0;
  return m.metrics.map((x) => [
    x.faithfulness === null ? '' : String(++rank),
    x.metric,
    x.group,
    direction(x.higher_is_better),
    x.knowledge_read_as ?? '',
    fmt(x.faithfulness),
    ...m.variants.map((v) => (v in x.robustness ? fmt(x.robustness[v]) : '')),
    x.reason ?? [...new Set(Object.values(x.robustness_reasons ?? {}))].join('; '),
  ]);
}

function summary(m: MetaJson): string {
  const present = m.pool.filter((p) => p.present).length;
  return `${m.pool.length} models (${present} with the forget knowledge, ${m.pool.length - present} without), evaluated ${m.created} in ${m.seconds.toFixed(1)} s`;
}

const NOTE =
  'Faithfulness: ROC AUC of the metric separating the models with the knowledge from those without (1 = always, 0.5 = chance, below 0.5 = backwards). "knowledge read as": which values read more of the forget knowledge: higher, lower, or farther from a neutral value either side (|v − 0.5| for a membership AUC; |v − holdout_…| against the same model on people it never saw). Robustness: the same AUC on the metric after the variant (4-bit quantization, relearning attack). A release policy relying on a metric below 0.8 gets a warning in its certificate.';

export function metaMarkdown(m: MetaJson): string {
  const line = (cells: string[]) => `| ${cells.map(escapeMd).join(' | ')} |`;
  const cols = columns(m);
  return [
    '# Meta-evaluation of the metrics',
    '',
    summary(m),
    '',
    NOTE,
    '',
    line(cols),
    `|${cols.map(() => '---').join('|')}|`,
    ...rows(m).map(line),
    '',
  ].join('\n');
}

export function metaHtml(m: MetaJson): string {
  const cells = (r: string[], tag: string) => `<tr>${r.map((c) => `<${tag}>${h(c)}</${tag}>`).join('')}</tr>`;
  return page(
    'Meta-evaluation of the metrics',
    `<h1>Meta-evaluation of the metrics</h1>\n<p>${h(summary(m))}</p>\n<p>${h(NOTE)}</p>\n<table>\n${cells(columns(m), 'th')}\n${rows(m)
      .map((r) => cells(r, 'td'))
      .join('\n')}\n</table>`,
  );
}
