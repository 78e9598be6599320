// float64 reference of the LoRA branch (PEFT shapes: A [R, C], B [OC, R]), same argument
// order as gpu/kernels/lora.ts, including the exact dropout mask the GPU kernels draw.

export interface Dropout {
  p: number;
  seed: number;
}

function lowbias32(x: number): number {
  let v = x >>> 0;
  v = (v ^ (v >>> 16)) >>> 0;
  v = Math.imul(v, 0x7feb352d) >>> 0;
  v = (v ^ (v >>> 15)) >>> 0;
  v = Math.imul(v, 0x846ca68b) >>> 0;
  v = (v ^ (v >>> 16)) >>> 0;
  return v;
}

/**
 * The dropout multiplier of element `index` of x (row·C + col): 0 when dropped, 1/(1-p) when
 * kept. Kept iff lowbias32(index ^ lowbias32(seed)) >= round(p·2³²); p = 0 keeps everything with factor 1.
 */
export function dropoutFactor(d: Dropout, index: number): number {
  if (d.p === 0) return 1;
  const threshold = Math.min(0xffffffff, Math.round(d.p * 2 ** 32));
  return lowbias32((index ^ lowbias32(d.seed)) >>> 0) >= threshold ? 1 / (1 - d.p) : 0;
}

/**
 * The per-element multiplier of a LoRA branch's input: the GPU's seeded mask (`Dropout`), or
 * any fixed mask as a function of the element index (the model reference replays per-module
 * masks this way).
 */
export type DropoutMask = Dropout | ((index: number) => number);

function maskOf(d: DropoutMask): (index: number) => number {
  return typeof d === 'function' ? d : (i) => dropoutFactor(d, i);
}

// Argument lists mirror gpu/kernels/lora.ts (outputs, inputs, then sizes), as every kernel pair does.

/** h = dropout(inp) · Aᵀ;  out += scaling · h · Bᵀ. */
export function loraForward(out: Float64Array, h: Float64Array, inp: ArrayLike<number>, A: ArrayLike<number>, B: ArrayLike<number>, BT: number, C: number, OC: number, R: number, scaling: number, dropout: DropoutMask): void {
  const f = maskOf(dropout);
  for (let t = 0; t < BT; t++) {
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += inp[t * C + c] * f(t * C + c) * A[r * C + c];
      h[t * R + r] = s;
    }
    for (let o = 0; o < OC; o++) {
      let s = 0;
      for (let r = 0; r < R; r++) s += h[t * R + r] * B[o * R + r];
      out[t * OC + o] += scaling * s;
    }
  }
}

/** dB += scaling·doutᵀ·h;  dh = scaling·dout·B;  dA += dhᵀ·dropout(inp);  dinp += dropout'(dh·A). */
export function loraBackward(dinp: Float64Array, dA: Float64Array, dB: Float64Array, dh: Float64Array, dout: ArrayLike<number>, inp: ArrayLike<number>, h: ArrayLike<number>, A: ArrayLike<number>, B: ArrayLike<number>, BT: number, C: number, OC: number, R: number, scaling: number, dropout: DropoutMask): void {
  const mask = maskOf(dropout);
  for (let t = 0; t < BT; t++) {
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let o = 0; o < OC; o++) {
        dB[o * R + r] += scaling * dout[t * OC + o] * h[t * R + r];
        s += dout[t * OC + o] * B[o * R + r];
      }
      dh[t * R + r] = scaling * s;
    }
    for (let c = 0; c < C; c++) {
      const f = mask(t * C + c);
      let s = 0;
      for (let r = 0; r < R; r++) {
        dA[r * C + c] += dh[t * R + r] * inp[t * C + c] * f;
        s += dh[t * R + r] * A[r * C + c];
      }
      dinp[t * C + c] += s * f;
    }
  }
}
