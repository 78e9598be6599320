import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../test/numeric';
import { f16BitsToNumber, float32ToBytes, numberToF16Bits } from './dtype';
import { buildTinyModel } from '../../../test/fixtures/tiny-model';
import { isLinearWeight } from './config';
import { GGML_BLOCK, type QuantType, dequantize, describeGgmlType, ggmlByteSize, packQ4KScales, q4kScaleMin, quantize, quantizeOnLoad, quantizeTensor } from './quant';
import { SafetensorsFile, memorySource } from './safetensors';
import golden from '../../../test/fixtures/ggml-kquants/golden.json';
import { kquantFuzzInput } from '../../../test/fixtures/ggml-kquants/fuzz-input';

const h = (bytes: Uint8Array, o: number) => f16BitsToNumber(bytes[o] | (bytes[o + 1] << 8));
const i8 = (b: number) => (b > 127 ? b - 256 : b);

/**
 * Element e of one block, straight from the format descriptions (ggml-common.h), in float64
 * with the single f32 rounding ggml's float arithmetic gives. Independent of quant.ts's loops.
 */
function specValue(type: QuantType, b: Uint8Array, e: number): number {
  switch (type) {
    case 'Q8_0':
      return Math.fround(h(b, 0) * i8(b[2 + e]));
    case 'Q4_0': {
      const byte = b[2 + (e % 16)];
      const q = e < 16 ? byte & 15 : byte >> 4;
      return Math.fround(h(b, 0) * (q - 8));
    }
    case 'Q4_K': {
      const sb = Math.floor(e / 32); // sub-block of 32
      const byte = b[16 + 32 * Math.floor(sb / 2) + (e % 32)];
      const q = sb % 2 === 0 ? byte % 16 : Math.floor(byte / 16);
      const sc = b.subarray(4, 16);
      // 6-bit fields: sub-blocks 0-3 in bytes 0-7 (low 6 bits); 4-7 split: 4 low bits in bytes 8-11, 2 high bits on top of bytes 0-7
      const scale = sb < 4 ? sc[sb] % 64 : (sc[sb + 4] % 16) + 16 * Math.floor(sc[sb - 4] / 64);
      const min = sb < 4 ? sc[sb + 4] % 64 : Math.floor(sc[sb + 4] / 16) + 16 * Math.floor(sc[sb] / 64);
      return Math.fround(h(b, 0) * scale * q - h(b, 2) * min);
    }
    case 'Q6_K': {
      const half = Math.floor(e / 128), r = e % 128, g = Math.floor(r / 32), l = r % 32;
      const lowByte = b[64 * half + 32 * (g % 2) + l];
      const low = g < 2 ? lowByte % 16 : Math.floor(lowByte / 16);
      const high = Math.floor(b[128 + 32 * half + l] / 4 ** g) % 4;
      const scale = i8(b[192 + Math.floor(e / 16)]);
      return Math.fround(h(b, 208) * scale * (low + 16 * high - 32));
    }
  }
}

function sameValues(got: Float32Array, want: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad++;
  return bad;
}

describe('ggml block formats: dequantization', () => {
  it('layouts: block sizes and bytes as ggml defines them', () => {
    expect(GGML_BLOCK).toMatchObject({ Q8_0: { values: 32, bytes: 34 }, Q4_0: { values: 32, bytes: 18 }, Q4_K: { values: 256, bytes: 144 }, Q6_K: { values: 256, bytes: 210 } });
    expect(ggmlByteSize('Q4_K', 512)).toBe(288);
    expect(() => ggmlByteSize('Q8_0', 40)).toThrow(/40 values are not a whole number of 32-value blocks/);
    expect(() => dequantize('Q6_K', new Uint8Array(211))).toThrow(/211 bytes are not a whole number of 210-byte blocks/);
    expect(describeGgmlType(13)).toBe('Q5_K (ggml type 13)');
  });

  it.each<QuantType>(['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'])('%s: random bytes (any f16 scale, incl. subnormal/Inf/NaN) match the float64 spec reading', (type) => {
    const r = rng(7 + type.length);
    const { values, bytes } = GGML_BLOCK[type];
    const nb = 200;
    const data = Uint8Array.from({ length: nb * bytes }, () => Math.floor(r() * 256));
    // half the blocks get tame scales so that most values are finite and distinct
    for (let i = 0; i < nb; i += 2) {
      const dOff = type === 'Q6_K' ? 208 : 0;
      data.set([Math.floor(r() * 256), 0x20 + Math.floor(r() * 0x18)], i * bytes + dOff);
      if (type === 'Q4_K') data.set([Math.floor(r() * 256), 0x20 + Math.floor(r() * 0x18)], i * bytes + 2);
    }
    const got = dequantize(type, data);
    const want: number[] = [];
    for (let i = 0; i < nb; i++) for (let e = 0; e < values; e++) want.push(specValue(type, data.subarray(i * bytes, (i + 1) * bytes), e));
    expect(got.length).toBe(nb * values);
    expect(sameValues(got, want)).toBe(0);
    expect(new Set(got).size).toBeGreaterThan(values); // the fuzz exercised varied values
  });

  it('Q8_0 hand-built block: f16 d first, then int8 q; value = q·d', () => {
    const b = new Uint8Array(34);
    b.set([0x00, 0x38], 0); // d = 0.5
    const q = Array.from({ length: 32 }, (_, j) => (j === 0 ? -128 : j === 1 ? 127 : j - 16));
    q.forEach((v, j) => (b[2 + j] = v & 0xff));
    expect(Array.from(dequantize('Q8_0', b))).toEqual(q.map((v) => v * 0.5));
  });

  it('Q4_0 hand-built block: byte j holds element j (low nibble) and j+16 (high); value = (q−8)·d', () => {
    const b = new Uint8Array(18);
    b.set([0x00, 0x40], 0); // d = 2
    for (let j = 0; j < 16; j++) b[2 + j] = j | ((15 - j) << 4);
    const want = [...Array.from({ length: 16 }, (_, j) => (j - 8) * 2), ...Array.from({ length: 16 }, (_, j) => (7 - j) * 2)];
    expect(Array.from(dequantize('Q4_0', b))).toEqual(want);
  });

  it('Q4_K scale/min packing: sub-blocks 0–3 in low 6 bits, 4–7 split into nibbles plus the top 2 bits of bytes 0–7', () => {
    const sc = [1, 17, 33, 63, 48, 5, 62, 31];
    const m = [0, 40, 2, 63, 33, 60, 7, 16];
    const packed = packQ4KScales(sc, m);
    // sub-block 4's scale 48 = 0b110000: low nibble 0 in byte 8, high bits 0b11 on top of byte 0
    expect(packed[8] & 15).toBe(0);
    expect(packed[0] >> 6).toBe(3);
    for (let j = 0; j < 8; j++) expect(q4kScaleMin(packed, j)).toEqual([sc[j], m[j]]);
    // a block: d = 1, dmin = 0.5, nibble q = (e·7) mod 16
    const b = new Uint8Array(144);
    b.set([0x00, 0x3c, 0x00, 0x38], 0);
    b.set(packed, 4);
    const q = (e: number) => (e * 7) % 16;
    for (let e = 0; e < 256; e++) {
      const sb = e >> 5;
      b[16 + (sb >> 1) * 32 + (e & 31)] |= sb & 1 ? q(e) << 4 : q(e);
    }
    const got = dequantize('Q4_K', b);
    for (let e = 0; e < 256; e++) expect(got[e]).toBe(sc[e >> 5] * q(e) - 0.5 * m[e >> 5]);
  });

  it('Q6_K ql/qh interleaving: each element’s 4 low and 2 high bits found where ggml puts them', () => {
    // all q = 0 (value −32·d·sc) except one element set to q = 63 through its own bits
    const base = new Uint8Array(210);
    base.set([0x00, 0x3c], 208); // d = 1
    for (let s = 0; s < 16; s++) base[192 + s] = (s % 2 ? -(s + 1) : s + 1) & 0xff;
    const scale = (e: number) => (((e >> 4) % 2 ? -1 : 1) * ((e >> 4) + 1));
    for (const e of [0, 1, 31, 32, 63, 64, 95, 96, 127, 128, 160, 200, 255]) {
      const b = base.slice();
      const half = e >= 128 ? 1 : 0, g = (e % 128) >> 5, l = e % 32;
      b[half * 64 + (g === 1 || g === 3 ? 32 : 0) + l] |= g >= 2 ? 0xf0 : 0x0f; // ql: bytes 0-31 hold groups 0 (low) and 2 (high), bytes 32-63 groups 1 and 3
      b[128 + half * 32 + l] |= 3 << (2 * g); // qh: two bits per group
      const got = dequantize('Q6_K', b);
      for (let k = 0; k < 256; k++) expect(got[k], `element ${k} with element ${e} set`).toBe(scale(k) * (k === e ? 31 : -32));
    }
  });
});

describe('ggml reference quantizers (quantize-on-load)', () => {
  /** f32 scale as ggml computes it from the block, and the f16 it stores. */
  function scales(x: ArrayLike<number>, type: 'Q8_0' | 'Q4_0'): { d32: number; d16: number } {
    let amax = 0, max = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(x[j]) > amax) [amax, max] = [Math.abs(x[j]), x[j]];
    const d32 = Math.fround(type === 'Q8_0' ? amax / 127 : max / -8);
    return { d32, d16: f16BitsToNumber(numberToF16Bits(d32)) };
  }

  function randomRows(seed: number, n: number): Float32Array {
    const r = rng(seed);
    const x = Float32Array.from({ length: n }, () => (r() - 0.5) * 2 * (r() < 0.1 ? 10 : 1));
    x.fill(0, 64, 96); // an all-zero block: d = 0, values 0
    x[100] = 7; // a positive max: Q4_0's d is negative there
    return x;
  }

  it('Q8_0: d = f16(max|x|/127); every element within d/2 (+ 127·|d32 − d16| for the f16 rounding of d)', () => {
    const x = randomRows(1, 32 * 40);
    const blocks = quantize('Q8_0', x, 64);
    expect(blocks.byteLength).toBe(40 * 34);
    const y = dequantize('Q8_0', blocks);
    for (let i = 0; i < 40; i++) {
      const xs = x.subarray(i * 32, i * 32 + 32);
      const { d32, d16 } = scales(xs, 'Q8_0');
      expect(h(blocks, i * 34)).toBe(d16);
      const bound = d32 / 2 + 127 * Math.abs(d32 - d16) + 1e-7 * d32;
      for (let j = 0; j < 32; j++) expect(Math.abs(y[i * 32 + j] - xs[j])).toBeLessThanOrEqual(bound);
    }
    expect(Array.from(y.subarray(64, 96)).every((v) => v === 0)).toBe(true);
  });

  it('Q8_0 rounds half away from zero as roundf: ±0.5·d → ±1', () => {
    const x = new Float32Array(32);
    x[0] = 127; // d = 1 exactly
    x[1] = 0.5;
    x[2] = -0.5;
    x[3] = 2.5;
    const b = quantize('Q8_0', x, 32);
    expect([i8(b[2]), i8(b[3]), i8(b[4]), i8(b[5])]).toEqual([127, 1, -1, 3]);
  });

  it('Q4_0: d = f16(m/−8) for the signed m of largest |x|; within d/2, up to d where q clips at 15', () => {
    const x = randomRows(2, 32 * 40);
    const y = dequantize('Q4_0', quantize('Q4_0', x, 32));
    for (let i = 0; i < 40; i++) {
      const xs = x.subarray(i * 32, i * 32 + 32);
      const { d32, d16 } = scales(xs, 'Q4_0');
      const ad = Math.abs(d32);
      for (let j = 0; j < 32; j++) {
        const x0 = d32 ? xs[j] / d32 : 0;
        const units = x0 >= 7.5 ? x0 - 7 : 0.5;
        expect(Math.abs(y[i * 32 + j] - xs[j])).toBeLessThanOrEqual(ad * units + 8 * Math.abs(d32 - d16) + 1e-6 * ad);
      }
    }
  });

  it('Q4_0 hand-checked block: x = −8..7 twice gives d = 1 and nibbles q = x + 8', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => (j % 16) - 8);
    const b = quantize('Q4_0', x, 32);
    expect(Array.from(b)).toEqual([0x00, 0x3c, ...Array.from({ length: 16 }, (_, j) => j * 17)]);
    // the first of equal magnitudes wins (strict <), so a leading +8 makes d = −1
    x[0] = 8;
    x[1] = -8;
    const b2 = quantize('Q4_0', x, 32);
    expect(h(b2, 0)).toBe(-1);
    expect(dequantize('Q4_0', b2)[0]).toBe(8);
    expect(dequantize('Q4_0', b2)[1]).toBe(-7); // −8/−1 + 8.5 = 16.5 → clipped to 15 → (15 − 8)·(−1)
  });

  it('quantizes a safetensors tensor (F16, BF16) on load, row by row; refuses rows that are not whole blocks', () => {
    const x = randomRows(3, 4 * 64);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const data = float32ToBytes(dtype, x).slice();
      const blocks = quantizeTensor('Q8_0', { name: 'w', dtype, shape: [4, 64], data });
      const y = dequantize('Q8_0', blocks);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(y[i] - x[i]));
      expect(worst).toBeLessThan(10 / 127); // amax ≤ 10 in these rows
    }
    expect(() => quantizeTensor('Q4_0', { name: 'model.norm.weight', dtype: 'F32', shape: [3, 40], data: new Uint8Array(480) })).toThrow(/model.norm.weight \[3, 40\] to Q4_0: .*row of 40 values/);
    expect(() => quantizeTensor('Q8_0', { name: 'ids', dtype: 'I32', shape: [32], data: new Uint8Array(128) })).toThrow(/ids: dtype I32 is not a float dtype/);
  });

  // Bit for bit what ggml's quantize_row_q4_K_ref / quantize_row_q6_K_ref write (golden.json:
  // blocks made by ggml's C code, see golden.c), on blocks chosen for the search's corner cases:
  // all-positive and all-negative sub-blocks (the min clamps to 0), zero and constant sub-blocks
  // (scale 0: ggml keeps the search's codes), outliers, large and tiny magnitudes.
  it.each(['Q4_K', 'Q6_K'] as const)('%s: the same bytes as ggml\'s reference quantizer', (type) => {
    const x = new Float32Array(Uint8Array.from(Buffer.from(golden.input, 'base64')).buffer);
    const want = Buffer.from(golden[type], 'base64');
    const got = quantize(type, x, 512); // rows of two blocks: the quantizer runs block by block
    expect(got.byteLength).toBe(want.byteLength);
    const bad: number[] = [];
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) bad.push(i);
    expect(bad.slice(0, 10)).toEqual([]);
  });

  // The same, by SHA-256, over 4096 seeded blocks of those corner cases mixed per 16 values, at
  // magnitudes 1e-12 to 1e3 (fuzz-input.ts): the hashes of what golden.c writes for them.
  it.each([
    ['Q4_K', 'e0f859648382bce3310c739973636606995c604670effb3afbca8d12abe046e8'],
    ['Q6_K', 'cbd6ad88c5d4b196a79de79e28e3fc850cd961d73c81f0c152c350d3e7a46d2a'],
  ] as const)('%s: the same bytes as ggml\'s reference quantizer on 4096 fuzzed blocks', (type, sha256) => {
    const x = kquantFuzzInput(2024, 4096, -12, 3, 1e-6);
    expect(createHash('sha256').update(quantize(type, x, 1024)).digest('hex')).toBe(sha256);
  });

  // Out of f16's range (d overflows; magnitudes to 1e12) and with subnormal sub-blocks (nearest_int's
  // argument past 2²²), ggml differs between builds (its assert aborts; release builds keep the
  // rounding trick's low bits) and these bytes differ from a release build's in some blocks. Pinned
  // to what this quantizer writes, so that rewrites of it keep every path as it is.
  it.each([
    ['Q4_K', 'bef4ba9640913d89af5f4f470c50c3a4464bb089f2c4d30211965315f14a4d74'],
    ['Q6_K', 'd5c46ee9aa02eeb6b6bb76a7e19dc457c4004b99ee2e643f0537e42b589ba773'],
  ] as const)('%s: unchanged bytes on 512 blocks beyond ggml\'s range', (type, sha256) => {
    const x = kquantFuzzInput(7, 512, -40, 12, 1e-30);
    expect(createHash('sha256').update(quantize(type, x, 1024)).digest('hex')).toBe(sha256);
  });

  /** Root-mean-square error of a round trip through `type`. */
  const rmse = (type: QuantType, x: Float32Array) => {
    const y = dequantize(type, quantize(type, x, 256));
    return Math.sqrt(x.reduce((a, v, i) => a + (v - y[i]) ** 2, 0) / x.length);
  };

  it('Q4_K / Q6_K: every code is the nearest on its sub-block grid (or clipped to it), and the error is what each format allows', () => {
    const r = rng(5);
    const x = Float32Array.from({ length: 64 * 256 }, () => (r() + r() + r() + r() - 2) * 0.05 * (r() < 0.01 ? 20 : 1));
    const q4 = quantize('Q4_K', x, 256), y4 = dequantize('Q4_K', q4);
    const q6 = quantize('Q6_K', x, 256), y6 = dequantize('Q6_K', q6);
    for (let i = 0; i < x.length; i++) {
      const b = Math.floor(i / 256), e = i % 256;
      const [sc, m] = q4kScaleMin(q4.subarray(b * 144 + 4, b * 144 + 16), e >> 5);
      const step4 = h(q4, b * 144) * sc, lo4 = -h(q4, b * 144 + 2) * m; // grid lo4 + step4·(0..15)
      const want4 = Math.min(lo4 + 15 * step4, Math.max(lo4, x[i]));
      expect(Math.abs(y4[i] - want4), `Q4_K element ${i}`).toBeLessThanOrEqual(step4 / 2 + 1e-6 * Math.abs(x[i]));
      const step6 = h(q6, b * 210 + 208) * i8(q6[b * 210 + 192 + (e >> 4)]); // grid step6·(−32..31)
      const a = Math.abs(step6);
      const want6 = Math.min(31 * a, Math.max(-32 * a, x[i] * Math.sign(step6))) * Math.sign(step6);
      expect(Math.abs(y6[i] - want6), `Q6_K element ${i}`).toBeLessThanOrEqual(a / 2 + 1e-6 * Math.abs(x[i]));
    }
    // Quality as the formats promise: Q4_K below Q4_0 at the same 4.5 bits per weight; Q6_K's 64 levels ~4× finer than Q4_K's 16.
    expect(rmse('Q4_K', x)).toBeLessThan(0.8 * rmse('Q4_0', x));
    expect(rmse('Q6_K', x)).toBeLessThan(rmse('Q4_K', x) / 3);
  });

  it('Q4_K / Q6_K: all-zero input gives zero blocks; rows must be whole 256-value blocks', () => {
    for (const type of ['Q4_K', 'Q6_K'] as const) {
      expect(Array.from(dequantize(type, quantize(type, new Float32Array(256), 256))).every((v) => v === 0)).toBe(true);
      expect(() => quantize(type, new Float32Array(256), 128)).toThrow(new RegExp(`${type}: a row of 128 values is not a whole number of 256-value blocks`));
    }
  });
});

describe('quantize-on-load of a float checkpoint', () => {
  it('linear weights become Q8_0/Q4_0 blocks one tensor at a time; the rest keep their dtype', async () => {
    const model = buildTinyModel({ layers: 1, hiddenSize: 64, numHeads: 2, numKvHeads: 1, intermediateSize: 96, seed: 9 });
    const store = await SafetensorsFile.open(memorySource(model.files['model.safetensors'] as Uint8Array));
    for (const type of ['Q8_0', 'Q4_0'] as const) {
      const src = quantizeOnLoad(store, type);
      expect(src.names()).toEqual(store.names());
      const q = 'model.layers.0.self_attn.q_proj.weight';
      expect(src.info(q)).toEqual({ shape: [64, 64], type });
      const blocks = await src.readBlocks(q);
      expect(Array.from(blocks.data)).toEqual(Array.from(quantize(type, model.weights.get(q)!, 64)));
      expect(Array.from(await src.readF32(q))).toEqual(Array.from(dequantize(type, blocks.data)));
      for (const n of ['model.norm.weight', 'model.embed_tokens.weight']) {
        expect(src.info(n).type).toBe('F32');
        expect(Array.from(await src.readF32(n))).toEqual(Array.from(model.weights.get(n)!));
      }
    }
    const odd = buildTinyModel({ layers: 1, hiddenSize: 64, numHeads: 2, numKvHeads: 1, intermediateSize: 40, seed: 9 });
    const oddStore = await SafetensorsFile.open(memorySource(odd.files['model.safetensors'] as Uint8Array));
    expect(() => quantizeOnLoad(oddStore, 'Q4_0')).toThrow(/quantize to Q4_0: rows must be multiples of 32 values; model.layers.0.mlp.down_proj.weight \[64, 40\] is not/);
  });

  it('knows the linear weights by name', () => {
    expect(isLinearWeight('model.layers.12.mlp.down_proj.weight')).toBe(true);
    expect(isLinearWeight('model.layers.0.self_attn.o_proj.weight')).toBe(true);
    expect(isLinearWeight('model.layers.0.mlp.q_proj.weight')).toBe(false);
    expect(isLinearWeight('model.layers.0.self_attn.q_proj.bias')).toBe(false);
    expect(isLinearWeight('lm_head.weight')).toBe(false);
  });
});
