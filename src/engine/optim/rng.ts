// A small seeded PRNG whose whole state is one u32, so a checkpoint can save and restore it
// exactly (PEFT-style init of LoRA A, sampling seeds, dropout seeds).

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A uniform u32. */
  nextU32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
  get state(): number {
    return this.s;
  }
  set state(v: number) {
    this.s = v >>> 0;
  }
}

/** A function returning the uniforms of `new Rng(seed)` in turn: the one seeded generator of the project. */
export function uniformSource(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Mixes integers into one u32 (a stateless seed for, e.g., dropout at step t of layer l). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
  }
  return h >>> 0;
}
