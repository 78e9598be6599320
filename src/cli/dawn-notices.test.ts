import { describe, expect, it } from 'vitest';
import { dawnNoticeFilter, stripDawnNotices } from '../../bin/dawn-notices.mjs';

const NOTICES =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n' +
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 500000 to 16 to fit dynamic offset allocation limit.\n';
const OTHER = 'weights: f16 (auto)\nWarning: something else Dawn says\n[####....] 3/8 loss 1.2\r[#####...] 4/8\nlora-studio train: failed\n';

describe("Dawn's adapter-limit notices", () => {
  it('are dropped wherever the stream is cut, and everything else passes byte for byte', () => {
    const text = NOTICES + OTHER + NOTICES;
    const want = OTHER;
    for (let cut = 0; cut <= text.length; cut++) {
      for (const cut2 of [cut, Math.min(text.length, cut + 7), Math.min(text.length, cut + 130)]) {
        const f = dawnNoticeFilter();
        const got = f.push(text.slice(0, cut)) + f.push(text.slice(cut, cut2)) + f.push(text.slice(cut2)) + f.end();
        expect(got, `cut at ${cut}, ${cut2}`).toBe(want);
      }
    }
  });

  it('only whole lines that are exactly the notice go: the same words mid-line, or a changed notice, stay', () => {
    const mid = `progress ${NOTICES}`;
    expect(stripDawnNotices(mid)).toBe(`progress ${NOTICES.split('\n')[0]}\n`);
    const changed = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced, and more\n';
    expect(stripDawnNotices(changed)).toBe(changed);
  });

  it('holds back only a line start that could still become a notice; a progress bar redraw passes at once', () => {
    const f = dawnNoticeFilter();
    expect(f.push('\r[###.....] 3/8')).toBe('\r[###.....] 3/8');
    expect(f.push(' loss 1.0\nWarn')).toBe(' loss 1.0\n');
    expect(f.push('ing: maxDynamicUni')).toBe('');
    expect(f.push('corn\n')).toBe('Warning: maxDynamicUnicorn\n');
    expect(f.push('Warning: maxDyn')).toBe('');
    expect(f.end()).toBe('Warning: maxDyn');
  });
});
