// How much UI-thread time the app's own script takes per frame, for e2e checks that the UI
// stays responsive while the worker trains.
//
// Which script ran in which frame comes from Long Animation Frame entries
// (PerformanceObserver 'long-animation-frame'): a script counts as ours when its sourceURL
// is the app's origin, so Playwright's evaluations, its screenshots (no script at all),
// style, layout and paint are left out. How long it ran is the main thread's CPU time over
// that script, from a Chrome trace (thread time, `tdur`), not the LoAF wall-clock
// duration: on a loaded 2-core machine a 5 ms handler measured 50–250 ms of wall clock
// while the thread waited for a core, which measures the machine, not the app.
import type { Page } from '@playwright/test';

/** Our script's CPU per frame above this is a stall users notice (three dropped frames at 60 Hz). */
export const OUR_SCRIPT_MS_PER_FRAME = 50;

const MARK = 'e2e:responsiveness';
/** Slack around a LoAF script's window when matching trace events (LoAF times are coarsened). */
const SLACK_US = 1000;

export interface ScriptTime {
  sourceURL: string;
  invoker: string;
  startTime: number;
  duration: number;
  forcedStyleAndLayoutDuration: number;
}

export interface LongFrame {
  startTime: number;
  duration: number;
  blockingDuration: number;
  scripts: ScriptTime[];
  /** Wall-clock time of the frame's scripts from the app's origin (LoAF durations). */
  ourScriptMs: number;
  /** Main-thread CPU time within those scripts (trace thread time). */
  ourScriptCpuMs: number;
}

export interface ResponsivenessReport {
  frames: LongFrame[];
  /** Frames whose own-script CPU time exceeds the limit, worst first. */
  violations: LongFrame[];
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { data?: { startTime?: number } };
}

/** Starts recording long animation frames and a main-thread trace of the page's current document. */
export async function watchMainThread(page: Page): Promise<void> {
  const browser = page.context().browser();
  if (!browser) throw new Error('watchMainThread needs a page of a launched browser (tracing is per browser)');
  await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'blink.user_timing', 'v8.execute'] });
  await page.evaluate((mark) => {
    if (!PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) throw new Error('this browser has no Long Animation Frame timing');
    const w = window as unknown as { __longFrames: unknown[] };
    w.__longFrames = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as unknown as Array<{ startTime: number; duration: number; blockingDuration: number; scripts: ScriptTime[] }>) {
        w.__longFrames.push({
          startTime: e.startTime,
          duration: e.duration,
          blockingDuration: e.blockingDuration,
          scripts: e.scripts.map((s) => ({ sourceURL: s.sourceURL, invoker: s.invoker, startTime: s.startTime, duration: s.duration, forcedStyleAndLayoutDuration: s.forcedStyleAndLayoutDuration })),
        });
      }
    }).observe({ type: 'long-animation-frame' });
    // Ties the page's clock to the trace's: the mark is in both.
    performance.mark(mark);
  }, MARK);
}

/** Stops the trace; the frames since watchMainThread with our script's CPU per frame, judged against `limitMs`. */
export async function mainThreadReport(page: Page, limitMs = OUR_SCRIPT_MS_PER_FRAME): Promise<ResponsivenessReport> {
  const raw = await page.evaluate(() => (window as unknown as { __longFrames?: Omit<LongFrame, 'ourScriptMs' | 'ourScriptCpuMs'>[] }).__longFrames);
  const events = (JSON.parse((await page.context().browser()!.stopTracing()).toString()) as { traceEvents: TraceEvent[] }).traceEvents;
  if (!raw) throw new Error('watchMainThread(page) was not called on this document');
  const mark = events.find((e) => e.name === MARK && e.args?.data?.startTime !== undefined);
  if (!mark) throw new Error(`the trace has no "${MARK}" mark: it did not record the watched page`);
  const toTrace = (ms: number) => mark.ts + (ms - mark.args!.data!.startTime!) * 1000;
  // Work on the page's main thread (the mark's thread), outermost slices of a task first.
  const slices = events.filter((e) => e.pid === mark.pid && e.tid === mark.tid && e.ph === 'X' && e.dur !== undefined && !/RunTask/.test(e.name)).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  if (slices.length && slices.every((e) => e.tdur === undefined)) throw new Error('the trace has no thread times (tdur) on this platform: CPU time per script cannot be measured');

  const origin = new URL(page.url()).origin;
  const ours = (url: string) => URL.canParse(url) && new URL(url).origin === origin;
  const frames = raw.map((f) => {
    const mine = f.scripts.filter((s) => ours(s.sourceURL));
    const windows = mine.map((s) => [toTrace(s.startTime) - SLACK_US, toTrace(s.startTime + s.duration) + SLACK_US]);
    let cpuUs = 0;
    let coveredUntil = -Infinity; // skips slices nested in one already counted
    for (const e of slices) {
      const end = e.ts + e.dur!;
      if (end <= coveredUntil || !windows.some(([a, b]) => e.ts >= a && end <= b)) continue;
      cpuUs += e.tdur ?? e.dur!;
      coveredUntil = end;
    }
    return { ...f, ourScriptMs: mine.reduce((a, s) => a + s.duration, 0), ourScriptCpuMs: cpuUs / 1000 };
  });
  const violations = frames.filter((f) => f.ourScriptCpuMs > limitMs).sort((a, b) => b.ourScriptCpuMs - a.ourScriptCpuMs);
  return { frames, violations };
}

/** One line per frame for a test log: wall, blocking, our script (wall and CPU), and each script. */
export function describeFrames(frames: readonly LongFrame[]): string {
  const r = Math.round;
  return frames
    .map((f) => `frame ${r(f.duration)} ms (blocking ${r(f.blockingDuration)}; ours ${r(f.ourScriptMs)} ms wall, ${r(f.ourScriptCpuMs)} ms CPU): ${f.scripts.map((s) => `${s.invoker} @ ${s.sourceURL.replace(/^.*\//, '') || '(no URL)'} ${r(s.duration)} ms${s.forcedStyleAndLayoutDuration ? ` (forced layout ${r(s.forcedStyleAndLayoutDuration)})` : ''}`).join('; ') || 'no scripts'}`)
    .join('\n');
}
