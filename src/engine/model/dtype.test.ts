import { describe, expect, it } from 'vitest';
import { bf16BitsToNumber, bytesToFloat32, f16BitsToNumber, float32ToBytes, numberToBf16Bits, numberToF16Bits } from './dtype';

describe('f16 / bf16 conversions', () => {
  it('every finite half round-trips exactly; NaN stays NaN', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16BitsToNumber(h);
      if (Number.isNaN(x)) expect(Number.isNaN(f16BitsToNumber(numberToF16Bits(x)))).toBe(true);
      else expect(numberToF16Bits(x)).toBe(h);
    }
  });

  it('rounds to nearest even at midpoints, overflows to Inf, underflows through subnormals', () => {
    const one = 0x3c00;
    const ulp = 2 ** -10;
    expect(numberToF16Bits(1 + ulp / 2)).toBe(one); // tie → even (1.0)
    expect(numberToF16Bits(1 + 1.5 * ulp)).toBe(one + 2); // tie → even (odd neighbour skipped)
    expect(numberToF16Bits(1 + ulp / 2 + 2 ** -20)).toBe(one + 1); // above the tie
    expect(numberToF16Bits(65504)).toBe(0x7bff);
    expect(numberToF16Bits(65520)).toBe(0x7c00); // rounds up past max → Inf
    expect(numberToF16Bits(-1e9)).toBe(0xfc00);
    expect(numberToF16Bits(2 ** -24)).toBe(1); // smallest subnormal
    expect(numberToF16Bits(2 ** -25)).toBe(0); // tie between 0 and 2^-24 → even (0)
    expect(numberToF16Bits(3 * 2 ** -26)).toBe(1);
    expect(numberToF16Bits(-0)).toBe(0x8000);
  });

  it('bf16 keeps the f32 exponent and rounds the mantissa to nearest even', () => {
    for (const x of [0, 1, -2.5, 3.140625, 2 ** 100, -(2 ** -100)]) expect(bf16BitsToNumber(numberToBf16Bits(x))).toBe(x); // representable: exact
    expect(bf16BitsToNumber(numberToBf16Bits(1 + 2 ** -8))).toBe(1); // tie → even
    expect(bf16BitsToNumber(numberToBf16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    const rel = Math.abs(bf16BitsToNumber(numberToBf16Bits(Math.PI)) - Math.PI) / Math.PI;
    expect(rel).toBeLessThan(2 ** -8); // 8 significant bits
    expect(Number.isNaN(bf16BitsToNumber(numberToBf16Bits(NaN)))).toBe(true);
  });

  it('bytes ↔ float32 for F32/F16/BF16, including unaligned input', () => {
    const x = new Float32Array([0.5, -3, 1024, 0.099975586]);
    for (const d of ['F32', 'F16', 'BF16'] as const) {
      const bytes = float32ToBytes(d, x);
      const shifted = new Uint8Array(bytes.byteLength + 1);
      shifted.set(bytes, 1);
      const back = bytesToFloat32(d, shifted.subarray(1));
      expect(back.length).toBe(4);
      expect(Array.from(back.subarray(0, 3))).toEqual([0.5, -3, 1024]);
    }
    expect(() => bytesToFloat32('I32', new Uint8Array(4))).toThrow(/not a float dtype/);
    expect(() => bytesToFloat32('F16', new Uint8Array(3))).toThrow(/not a whole number/);
  });
});
