import { describe, expect, it } from 'vitest';
import { attentionBackward, attentionBackwardScratchBytes, attentionForward, attentionTiles, attentionUsesRowKernels, queryRowGrid, rowKernelLayout, rowLayout, rowReads, rowsPerSlot } from './attention';
import { WGSL_LIB } from './wgsl';
import { attentionBackward as backwardRef, attentionForward as forwardRef } from '../../reference/attention';
import { expectClose, randArray, randInt, rng } from '../../../../test/numeric';
import { type TestDeviceOptions, expectNoGpuError, getTestContext } from '../../../../test/gpu-device';

// Fast path (f16 + subgroups features), the fallback device, and a device with only the WebGPU
// default limits (16 KiB workgroup memory, 8 storage buffers) that the tiles are sized for.
const devices: TestDeviceOptions[] = [{}, { fallback: true }, { defaultLimits: true }];

type SegMode = 'single' | 'packed' | 'padded' | 'long';

/** Segment ids for one batch row: one sequence, several packed ones, or packed plus trailing pads. */
function segmentIds(r: () => number, T: number, mode: SegMode): number[] {
  if (mode === 'single') return new Array(T).fill(0);
  // Segments longer than the kernels' 128-token boundary scan step, so the scans for a
  // segment's start (forward, dq) and end (dk/dv) need a second round to hit.
  if (mode === 'long') return Array.from({ length: T }, (_, t) => (t < 30 ? 1 : t < 200 ? 2 : 3));
  const ids: number[] = [];
  const real = mode === 'padded' ? Math.max(1, T - randInt(r, 1, Math.max(1, Math.floor(T / 3)))) : T;
  let id = 1;
  while (ids.length < real) {
    const len = Math.min(real - ids.length, randInt(r, 1, Math.max(1, Math.ceil(T / 3))));
    for (let i = 0; i < len; i++) ids.push(id);
    id++;
  }
  while (ids.length < T) ids.push(0xffff); // pads: an id no real token uses
  return ids;
}

interface Case { B: number; T: number; H: number; KVH: number; D: number; seg: SegMode; window?: number; scale?: number }

// Every T and D from the brief, with B, head layout and masking cycled across them.
const Ts = [1, 5, 17, 64, 130];
const Ds = [8, 16, 64];
const heads: [number, number][] = [[4, 2], [3, 1], [2, 2]];
const segModes: SegMode[] = ['single', 'packed', 'padded'];
const cases: Case[] = [];
let n = 0;
for (const T of Ts) {
  for (const D of Ds) {
    const [H, KVH] = heads[n % 3];
    cases.push({ B: 1 + ((n >> 1) % 2), T, H, KVH, D, seg: segModes[(n + Math.floor(n / 3)) % 3] });
    n++;
  }
}
// Head dims beyond the brief's list: D=128 (rows split across 2 lanes) and a D that is no power
// of two (2 lanes: the second holds 4 real vec4 and 12 of padding).
cases.push({ B: 1, T: 33, H: 2, KVH: 1, D: 128, seg: 'packed' }, { B: 2, T: 20, H: 3, KVH: 3, D: 80, seg: 'padded' });
// Qwen3 (D = 128) and Gemma 3 (D = 256) head dims, T past one query/key tile, GQA 4/2.
cases.push({ B: 2, T: 70, H: 4, KVH: 2, D: 128, seg: 'padded' }, { B: 1, T: 45, H: 4, KVH: 2, D: 256, seg: 'packed' }, { B: 2, T: 17, H: 2, KVH: 1, D: 256, seg: 'single' });
// Row kernels (D <= 64, D % 4 == 0) with D short of its size class (zero-padded rows), and
// a D that is no multiple of 4 (tile kernels).
cases.push({ B: 1, T: 70, H: 3, KVH: 1, D: 12, seg: 'packed' }, { B: 2, T: 9, H: 2, KVH: 2, D: 6, seg: 'single' });
// The tile kernels at a large head dim (D % 4 != 0, class 256: their smallest tiles).
cases.push({ B: 1, T: 40, H: 4, KVH: 2, D: 130, seg: 'packed' });
cases.push({ B: 1, T: 256, H: 2, KVH: 1, D: 16, seg: 'long' }, { B: 1, T: 256, H: 2, KVH: 1, D: 16, seg: 'single' });
// Sliding windows (Gemma's local layers), on the row kernels (D 16, 8, 80, 128: split rows) and
// the tile kernels (D 6), with GQA, packed and padded segments and a given scale: windows shorter than a
// tile and longer than one, so blocks skip whole key (query) tiles before (after) the window.
cases.push(
  { B: 2, T: 130, H: 4, KVH: 2, D: 16, seg: 'packed', window: 17 },
  { B: 1, T: 256, H: 2, KVH: 1, D: 16, seg: 'single', window: 40 },
  { B: 1, T: 256, H: 2, KVH: 1, D: 16, seg: 'long', window: 100, scale: 0.1 },
  { B: 1, T: 64, H: 2, KVH: 2, D: 8, seg: 'single', window: 1 },
  { B: 2, T: 70, H: 3, KVH: 1, D: 6, seg: 'padded', window: 9, scale: 0.2 },
  { B: 1, T: 130, H: 2, KVH: 1, D: 80, seg: 'single', window: 33 },
  { B: 1, T: 100, H: 4, KVH: 2, D: 128, seg: 'packed', window: 20, scale: 0.0625 },
);

/** Rewrites the random inputs before both the GPU and the reference see them. */
type Poison = (x: { q: Float32Array; k: Float32Array; v: Float32Array; dout: Float32Array }) => void;

async function runCase(device: TestDeviceOptions, c: Case, poison?: Poison) {
  const { B, T, H, KVH, D } = c;
  const opts = { window: c.window, scale: c.scale };
  const ctx = await getTestContext(device);
  const r = rng(T * 1000 + D * 10 + H + B * 7);
  const q = Float32Array.from(randArray(r, B * T * H * D));
  const k = Float32Array.from(randArray(r, B * T * KVH * D));
  const v = Float32Array.from(randArray(r, B * T * KVH * D));
  const dout = Float32Array.from(randArray(r, B * T * H * D));
  const seg = Uint32Array.from([...segmentIds(r, T, c.seg), ...(B > 1 ? segmentIds(r, T, c.seg) : [])]);
  poison?.({ q, k, v, dout });

  const outRef = new Float64Array(B * T * H * D);
  const lseRef = new Float64Array(B * H * T);
  forwardRef(outRef, lseRef, q, k, v, seg, B, T, H, KVH, D, opts);

  const gpu = await expectNoGpuError(ctx, async () => {
    const Q = ctx.upload(q), K = ctx.upload(k), V = ctx.upload(v), S = ctx.upload(seg), DO = ctx.upload(dout);
    const O = ctx.createBuffer(q.byteLength), L = ctx.createBuffer(B * H * T * 4);
    const DQ = ctx.createBuffer(q.byteLength), DK = ctx.createBuffer(k.byteLength), DV = ctx.createBuffer(v.byteLength);
    const stats = ctx.createBuffer(attentionBackwardScratchBytes(B, T, H));
    // Poison the gradients: the backward must overwrite, not accumulate.
    ctx.write(DQ, new Float32Array(q.length).fill(123));
    ctx.write(DK, new Float32Array(k.length).fill(123));
    ctx.write(DV, new Float32Array(v.length).fill(123));
    const rec = ctx.recorder();
    attentionForward(ctx, rec, O, L, Q, K, V, S, B, T, H, KVH, D, opts);
    attentionBackward(ctx, rec, DQ, DK, DV, stats, DO, Q, K, V, O, L, S, B, T, H, KVH, D, opts);
    rec.submit();
    const res = {
      out: await ctx.readF32(O, q.length), lse: await ctx.readF32(L, B * H * T),
      dq: await ctx.readF32(DQ, q.length), dk: await ctx.readF32(DK, k.length), dv: await ctx.readF32(DV, v.length),
    };
    for (const b of [Q, K, V, S, DO, O, L, DQ, DK, DV, stats]) ctx.destroy(b);
    return res;
  });
  // The reference backward uses its own float64 out/lse, so the comparison also covers
  // the GPU forward's error as it propagates into the gradients.
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  backwardRef(dq, dk, dv, dout, q, k, v, outRef, lseRef, seg, B, T, H, KVH, D, opts);
  return { gpu, outRef, lseRef, dq, dk, dv };
}

// Inputs are U(-1,1), so scores are O(1), |out| <= 1, lse <= ~5 and gradients are O(1).
// f32 rounding in the D-term dots, the online-softmax rescaling and the T-term sums:
// measured worst over the first cases is 1.3e-7 (out), 6e-7 (lse), 7e-7 (dq, dk, dv);
// the bounds leave ~10x for other drivers' exp/log and summation orders.
function expectMatchesReference({ gpu, outRef, lseRef, dq, dk, dv }: Awaited<ReturnType<typeof runCase>>) {
  expectClose(gpu.out, outRef, 2e-6, 1e-5, 'out');
  expectClose(gpu.lse, lseRef, 5e-6, 1e-6, 'lse');
  expectClose(gpu.dq, dq, 1e-5, 1e-5, 'dq');
  expectClose(gpu.dk, dk, 1e-5, 1e-5, 'dk');
  expectClose(gpu.dv, dv, 1e-5, 1e-5, 'dv');
}

// A case that meets a pipeline set first compiles it: on lavapipe under load that alone has
// taken over 100 s (a cold Mesa cache), so these cases get more than the gpu tier's 120 s.
const COMPILES_FIRST = { timeout: 300_000 };

describe('attention forward + backward vs float64 reference', COMPILES_FIRST, () => {
  for (const device of devices) {
    it.each(cases)(`B=$B T=$T H=$H KVH=$KVH D=$D seg=$seg window=$window scale=$scale (device ${JSON.stringify(device)})`, async (c) => {
      expectMatchesReference(await runCase(device, c));
    });
  }
});

// Rows split across lanes at head dims that leave a lane's slice short of D or wholly past it
// (class 256, 8 lanes of 8 vec4: D = 200 ends inside lane 6 and lane 7 holds padding only,
// D = 144 ends inside lane 4 and lanes 5-7 hold padding only), with GQA, packing, windows and a given scale.
describe('attention row kernels with rows split across lanes vs float64 reference', COMPILES_FIRST, () => {
  const split: Case[] = [
    { B: 2, T: 70, H: 4, KVH: 2, D: 200, seg: 'padded' },
    { B: 1, T: 130, H: 4, KVH: 2, D: 144, seg: 'packed', window: 20, scale: 0.2 },
  ];
  it.each(split)('B=$B T=$T H=$H KVH=$KVH D=$D seg=$seg window=$window', async (c) => {
    expect(rowKernelLayout(c.D, 2).S).toBe(8);
    expectMatchesReference(await runCase({}, c));
  });
});

// GQA: the query-row kernels' (forward, dq) blocks are P positions × GW query heads of one kv head.
// Groups of 1, 2, 3 and 5 heads (5 and 3 leave rows of a 64-row block idle: 12 × 5 = 60, 21 × 3 = 63;
// in the forward's four rows per slot the idle ones are the last slots' fourth rows),
// T not a multiple of P (blocks end at T: the first one is partly filled), packing, pads and windows, whole rows (D 64, 32) and split ones (D 128, 256);
// at D = 256 a group of 20 heads exceeds the dq kernel's 16-row blocks and one of 36 the forward's
// 32-row ones, so a kv head's heads take several workgroups, the last one partly filled.
describe('attention GQA blocks (a kv head\'s query heads in one workgroup) vs float64 reference', () => {
  const gqa: Case[] = [
    { B: 2, T: 70, H: 9, KVH: 3, D: 64, seg: 'packed' },
    { B: 1, T: 130, H: 6, KVH: 3, D: 64, seg: 'padded', window: 30 },
    { B: 1, T: 45, H: 5, KVH: 1, D: 64, seg: 'single' },
    { B: 1, T: 256, H: 3, KVH: 3, D: 64, seg: 'long' },
    { B: 1, T: 100, H: 9, KVH: 3, D: 64, seg: 'single', window: 7, scale: 0.2 },
    { B: 2, T: 33, H: 8, KVH: 2, D: 32, seg: 'padded' },
    { B: 1, T: 50, H: 6, KVH: 2, D: 128, seg: 'packed', window: 20 },
    { B: 1, T: 7, H: 20, KVH: 1, D: 256, seg: 'single' },
    { B: 1, T: 6, H: 36, KVH: 1, D: 256, seg: 'padded' },
  ];
  it.each(gqa)('B=$B T=$T H=$H KVH=$KVH D=$D seg=$seg window=$window scale=$scale', async (c) => {
    expectMatchesReference(await runCase({}, c));
  });
  it('lays out the blocks as the cases above assume', () => {
    const grid = (kernel: 'forward' | 'dq', D: number, B: number, T: number, H: number, KVH: number) => queryRowGrid(rowLayout(D), B, T, H, KVH, rowsPerSlot(kernel, rowLayout(D)));
    for (const kernel of ['forward', 'dq'] as const) {
      // Whole rows: 16 invocations of four rows, 64-row blocks. SmolLM2-135M (9 heads, 3 kv
      // heads) at T = 256: 13 blocks of 21 positions × 3 heads per kv head.
      expect(grid(kernel, 64, 1, 256, 9, 3)).toEqual([13, 3, 1]);
      expect(grid(kernel, 64, 1, 45, 5, 1)).toEqual([4, 1, 1]);
      expect(grid(kernel, 64, 2, 70, 3, 3)).toEqual([2, 3, 2]);
    }
    // The forward's split rows at D = 256: 8 slots of 4 rows, so 20 heads fit one block and 36 take a full and a partial one.
    expect(grid('forward', 256, 1, 7, 20, 1)).toEqual([7, 1, 1]);
    expect(grid('forward', 256, 1, 6, 36, 1)).toEqual([6, 2, 1]);
    // D = 128: 16 slots, 64 rows (21 positions × 3 heads).
    expect(grid('forward', 128, 1, 50, 6, 2)).toEqual([3, 2, 1]);
    // The dq kernel's split rows: 2 rows per slot (16 rows at D = 256): 20 heads take a full and a partial workgroup.
    expect(grid('dq', 256, 1, 7, 20, 1)).toEqual([7, 2, 1]);
  });
});

// Skipping, not just masking: tokens outside every row's window are NaN, so a kernel that
// still loaded their tiles would spread NaN through the masked lanes (0·NaN) into the rows
// checked here, which the window keeps clear of them. T = 256, window 16: the row kernels'
// 64-row blocks and the tile kernels' 16-32-row blocks from row 128 on never need keys < 64,
// and key blocks below 64 never need queries from 192 on. (The reference reads visible pairs only.)
describe('sliding-window attention skips the tiles outside the window', () => {
  const rows = (a: ArrayLike<number>, from: number, to: number, width: number) => Array.from(a).slice(from * width, to * width);
  for (const D of [16, 6]) {
    const c: Case = { B: 1, T: 256, H: 2, KVH: 1, D, seg: 'single', window: 16 };
    it(`forward and dq: keys 0..63 are NaN, rows 128.. are exact (D=${D}, ${attentionUsesRowKernels(D) ? 'row' : 'tile'} kernels)`, async () => {
      const { gpu, outRef, lseRef, dq } = await runCase({}, c, ({ k, v }) => {
        k.fill(NaN, 0, 64 * D);
        v.fill(NaN, 0, 64 * D);
      });
      const w = c.H * D;
      expectClose(rows(gpu.out, 128, 256, w), rows(outRef, 128, 256, w), 2e-6, 1e-5, 'out');
      for (let h = 0; h < c.H; h++) expectClose(rows(gpu.lse, h * 256 + 128, h * 256 + 256, 1), rows(lseRef, h * 256 + 128, h * 256 + 256, 1), 5e-6, 1e-6, 'lse');
      expectClose(rows(gpu.dq, 128, 256, w), rows(dq, 128, 256, w), 1e-5, 1e-5, 'dq');
    });
    it(`dk, dv: queries 192.. are NaN, keys 0..63 are exact (D=${D})`, async () => {
      const { gpu, dk, dv } = await runCase({}, c, ({ q, dout }) => {
        q.fill(NaN, 192 * c.H * D);
        dout.fill(NaN, 192 * c.H * D);
      });
      expectClose(rows(gpu.dk, 0, 64, D), rows(dk, 0, 64, D), 1e-5, 1e-5, 'dk');
      expectClose(rows(gpu.dv, 0, 64, D), rows(dv, 0, 64, D), 1e-5, 1e-5, 'dv');
    });
  }
});

describe('attention tiles', () => {
  it('are tested on a device that really has only the default limits', async () => {
    const ctx = await getTestContext({ defaultLimits: true });
    expect(ctx.caps.maxComputeWorkgroupStorageSize).toBe(16384);
    expect(ctx.caps.maxStorageBuffersPerShaderStage).toBe(8);
    expect(ctx.caps.subgroups || ctx.caps.f16).toBe(false);
  });

  it('fit the default 16 KiB of workgroup memory for every head dim up to 256', () => {
    for (let D = 1; D <= 256; D++) {
      for (const kind of ['forward', 'dq', 'dkdv'] as const) {
        const t = attentionTiles(kind, D);
        expect(t.BR * t.BC).toBeGreaterThan(0);
      }
    }
    expect(attentionTiles('forward', 64)).toEqual({ BR: 16, BC: 16 });
  });

  it('send D % 4 == 0 to the row kernels, whose tiles fit 16 KiB', () => {
    for (let D = 1; D <= 256; D++) {
      expect(attentionUsesRowKernels(D)).toBe(D % 4 === 0);
      if (attentionUsesRowKernels(D)) expect(rowKernelLayout(D, 2).tile).toBeGreaterThanOrEqual(4);
    }
    expect(rowKernelLayout(64, 2)).toMatchObject({ S: 1, DS4: 16, tile: 16, split: false });
    // Whole rows: 16 invocations of four rows (query rows, or the dk/dv kernel's key rows) and tiles of 16.
    expect(rowLayout(64)).toMatchObject({ S: 1, WG: 16, R: 16, tile: 16, split: false });
    expect((['forward', 'dq', 'dkdv'] as const).map((k) => rowsPerSlot(k, rowLayout(64)))).toEqual([4, 4, 4]);
    // Split rows: the backward keeps two rows per slot, whose (q·k, dout·v) pairs fill its vec4 lane sums.
    expect((['forward', 'dq', 'dkdv'] as const).map((k) => rowsPerSlot(k, rowLayout(128)))).toEqual([4, 2, 2]);
    // Past 64, rows split so each lane holds 32 floats (compiles far faster than 64 on llvmpipe),
    // in one layout but for S (one pipeline): 4 lanes up to 128, 8 up to 256.
    const shared = { DS4: 8, WG: 64, DMAX: 256, tile: 4, split: true };
    for (const [D, S] of [[68, 4], [128, 4], [132, 8], [200, 8], [256, 8]]) expect(rowKernelLayout(D, 2)).toMatchObject({ ...shared, S, R: 64 / S });
    // Packed tiles hold up to twice the rows at S = 4 (rows of 128 floats), at 64 invocations:
    // vec2 lane sums leave room for 8, the vec4 ones of the backward and of the forward's four rows per slot for 7.
    expect(rowKernelLayout(128, 2, 2, true)).toMatchObject({ ...shared, KMAX: 8, PARTN: 8 * 64 });
    expect(rowKernelLayout(128, 2, 4, true)).toMatchObject({ ...shared, KMAX: 7, PARTN: 7 * 64 });
    expect(rowLayout(128)).toMatchObject({ ...shared, KMAX: 7, PARTN: 7 * 64 });
    expect(rowKernelLayout(256, 2, 4, true)).toMatchObject({ ...shared, S: 8, R: 8, KMAX: 7 }); // 4 rows of 256 a tile (tileRows)
  });
});

describe('attention row kernels read the tile rows every invocation reads at once', () => {
  const sizes = (min: number, max: number) => ({ subgroupSizes: { min, max } });
  it('by subgroup shuffles where subgroups have one width of 4+ lanes that divides the row slots, else from workgroup memory', () => {
    expect(rowReads(sizes(8, 8), rowLayout(64))).toEqual({ lib: WGSL_LIB.rowReadsSubgroup, constants: { SG: 8 } });
    expect(rowReads(sizes(4, 4), rowLayout(32))).toEqual({ lib: WGSL_LIB.rowReadsSubgroup, constants: { SG: 4 } });
    expect(rowReads(sizes(16, 16), rowLayout(64)).constants).toEqual({ SG: 16 });
    // Split rows: a subgroup must hold one lane of its row slots (R = 16 at D = 128, 8 at D = 256).
    expect(rowLayout(128).R).toBe(16);
    expect(rowLayout(256).R).toBe(8);
    expect(rowReads(sizes(8, 8), rowLayout(128)).lib).toBe(WGSL_LIB.rowReadsSubgroup);
    expect(rowReads(sizes(8, 8), rowLayout(256)).lib).toBe(WGSL_LIB.rowReadsSubgroup);
    expect(rowReads(sizes(16, 16), rowLayout(256)).lib).toBe(WGSL_LIB.rowReadsWorkgroup);
    // No sizes reported, subgroups wider than the 16 slots, widths that may vary, lanes too few for 4 registers a row.
    for (const caps of [{ subgroupSizes: null }, sizes(32, 32), sizes(8, 16), sizes(2, 2)]) expect(rowReads(caps, rowLayout(64))).toEqual({ lib: WGSL_LIB.rowReadsWorkgroup, constants: {} });
  });

  it('so the float64 cases above run both: shuffles on the fast-path device, workgroup reads on the others', async () => {
    const fast = await getTestContext({});
    for (const D of [64, 128, 256]) {
      expect(rowReads(fast.caps, rowLayout(D)).lib, `the fast-path test device has no usable fixed subgroup size (${JSON.stringify(fast.caps.subgroupSizes)}): the subgroup row reads would go untested at D=${D}`).toBe(WGSL_LIB.rowReadsSubgroup);
    }
    for (const device of [{ fallback: true }, { defaultLimits: true }]) expect(rowReads((await getTestContext(device)).caps, rowLayout(64)).lib).toBe(WGSL_LIB.rowReadsWorkgroup);
  });
});
