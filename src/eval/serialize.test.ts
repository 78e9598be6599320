import { expect, it } from 'vitest';
import { resolveMetrics } from './metric-set';
import { evaluate } from './report';
import { aggregatesCsv, csvField, examplesCsv, reportJson, toCsv } from './serialize';

it('csvField: RFC 4180 quoting only where needed, quotes doubled; no score is an empty field', () => {
  expect(csvField('plain text')).toBe('plain text');
  expect(csvField('a,b')).toBe('"a,b"');
  expect(csvField('say "hi"')).toBe('"say ""hi"""');
  expect(csvField('line\nbreak')).toBe('"line\nbreak"');
  expect(csvField('cr\r')).toBe('"cr\r"');
  expect(csvField(0.1 + 0.2)).toBe('0.30000000000000004');
  expect(csvField(true)).toBe('true');
  expect([csvField(NaN), csvField(Infinity), csvField(null), csvField(undefined)]).toEqual(['', '', '', '']);
  expect(toCsv([['a', 1], ['b,c', null]])).toBe('a,1\r\n"b,c",\r\n');
});

const report = evaluate({
  references: ['yes', 'no, "never"'],
  rows: [3, 9],
  predictions: { base: ['yes', 'maybe'], tuned: ['yes', 'no, "never"'] },
  metrics: resolveMetrics([], ['em', 'length']),
  bootstrap: { seed: 2, resamples: 50 },
});

it('examplesCsv: one line per example and system, texts quoted, one column per metric', () => {
  expect(examplesCsv(report)).toBe(
    [
      'example,row,system,reference,prediction,em,length',
      '0,3,base,yes,yes,1,1',
      '0,3,tuned,yes,yes,1,1',
      '1,9,base,"no, ""never""",maybe,0,0.5',
      '1,9,tuned,"no, ""never""","no, ""never""",1,1',
      '',
    ].join('\r\n'),
  );
});

it('aggregatesCsv: one line per system and metric with the interval', () => {
  const lines = aggregatesCsv(report).split('\r\n');
  expect(lines[0]).toBe('system,metric,n,mean,ci_low,ci_high,level');
  expect(lines.slice(1, 5).map((l) => l.split(',').slice(0, 4).join(','))).toEqual(['base,em,2,0.5', 'base,length,2,0.75', 'tuned,em,2,1', 'tuned,length,2,1']);
  const [, , , , lo, hi, level] = lines[1].split(',').map(Number);
  expect(lo).toBeGreaterThanOrEqual(0);
  expect(hi).toBeLessThanOrEqual(1);
  expect(level).toBe(0.95);
});

it('reportJson: the whole report round-trips; non-finite numbers become null', () => {
  expect(JSON.parse(reportJson(report))).toEqual(JSON.parse(JSON.stringify(report)));
  const withNaN = { ...report, examples: [{ ...report.examples[0], scores: { base: { em: NaN } } }] };
  expect(JSON.parse(reportJson(withNaN)).examples[0].scores.base.em).toBeNull();
});
