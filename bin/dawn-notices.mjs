// Dawn (the `webgpu` package) prints two notices from native code straight to file descriptor 2
// whenever it reads an adapter's limits (Limits.cpp clamps the driver's huge dynamic-buffer
// counts to 16; lavapipe and most desktop drivers trigger it), on every run:
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ...
// Dawn has no switch to silence them and Node cannot redirect fd 2, so whoever owns the stream
// (the CLI launcher, vitest's main process) drops exactly these lines and passes the rest through.

const NOTICE = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?\n$/;
const START = 'Warning: maxDynamic';

/**
 * A streaming filter: `push(text)` returns what may be written now, `end()` what was held back.
 * Only a line start that could still become a notice is held; everything else passes at once
 * (so progress bars that redraw with `\r` are not delayed).
 */
export function dawnNoticeFilter() {
  let held = '';
  let atLineStart = true;
  return {
    push(text) {
      let s = held + text;
      held = '';
      let out = '';
      while (s) {
        const nl = s.indexOf('\n');
        const line = nl < 0 ? s : s.slice(0, nl + 1);
        s = nl < 0 ? '' : s.slice(nl + 1);
        if (atLineStart && nl < 0 && (START.startsWith(line) || line.startsWith(START))) {
          held = line; // still at a line start: the next chunk decides
          break;
        }
        if (!(atLineStart && NOTICE.test(line))) out += line;
        atLineStart = nl >= 0;
      }
      return out;
    },
    end() {
      const rest = held;
      held = '';
      return rest;
    },
  };
}


/** The filter over one finished piece of text (a captured stderr, one chunk of a pipe). */
export function stripDawnNotices(text) {
  const f = dawnNoticeFilter();
  return f.push(text) + f.end();
}
