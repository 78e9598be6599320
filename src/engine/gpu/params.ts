// A kernel's uniform `Params` struct, declared once in TypeScript: the launcher packs from
// the declaration, and params.test.ts checks every declaration against the WGSL struct of its
// kernel file (field names, order and types), so the two cannot drift apart.
import { Params } from './context';

export type ParamType = 'u32' | 'i32' | 'f32';
export type ParamField = readonly [name: string, type: ParamType];

/** Values by field name; padding fields (names starting with `_`) are zero and not given. */
export type ParamValues<F extends readonly ParamField[]> = {
  [E in F[number] as E[0] extends `_${string}` ? never : E[0]]: number;
};

export interface ParamsLayout<F extends readonly ParamField[]> {
  /** The kernel sources (shaders/<file>.wgsl, before composition) whose `struct Params` this is. */
  readonly kernels: readonly string[];
  readonly fields: F;
  pack(values: ParamValues<F>): Params;
}

const layouts: ParamsLayout<readonly ParamField[]>[] = [];

/** Every layout declared so far (for the test that checks them against the WGSL structs). */
export const declaredParams = (): readonly ParamsLayout<readonly ParamField[]>[] => layouts;

/** Declares the `struct Params` of `kernels` (WGSL sources that share it), field by field in order. */
export function defineParams<const F extends readonly ParamField[]>(kernels: string | readonly string[], fields: F): ParamsLayout<F> {
  const layout: ParamsLayout<F> = {
    kernels: typeof kernels === 'string' ? [kernels] : kernels,
    fields,
    pack(values) {
      const v = values as Record<string, number>;
      const p = new Params(Math.ceil(Math.max(1, fields.length) / 4) * 4); // data() pads to 16 bytes
      for (const [name, type] of fields) {
        const x = name.startsWith('_') ? 0 : v[name];
        if (x === undefined) throw new Error(`Params.${name} missing`);
        p[type](x);
      }
      return p;
    },
  };
  layouts.push(layout);
  return layout;
}

/** The fields of the `struct Params { ... }` in WGSL `src`, or null when it has none. */
export function wgslParamsFields(src: string): [string, string][] | null {
  const m = /struct\s+Params\s*\{([^}]*)\}/.exec(src.replace(/\/\/[^\n]*/g, ''));
  if (!m) return null;
  return m[1]
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f.length > 0)
    .map((f) => {
      const [name, type] = f.split(':').map((s) => s.trim());
      return [name, type];
    });
}
