// Small helpers over node:util parseArgs: typed numeric options with clear errors.
import { CliError } from './model-dir';

export type Values = Record<string, string | boolean | string[] | undefined>;

export function str(v: Values, name: string, fallback?: string): string {
  const x = v[name];
  if (x === undefined) {
    if (fallback === undefined) throw new CliError(`missing --${name}`);
    return fallback;
  }
  if (typeof x !== 'string') throw new CliError(`--${name} needs a value`);
  return x;
}

export function optStr(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

export function num(v: Values, name: string, fallback: number, check: { int?: boolean; min?: number; max?: number } = {}): number {
  const x = v[name];
  if (x === undefined) return fallback;
  const n = Number(x);
  if (typeof x !== 'string' || x.trim() === '' || !Number.isFinite(n)) throw new CliError(`--${name}: expected a number, got ${JSON.stringify(x)}`);
  if (check.int && !Number.isInteger(n)) throw new CliError(`--${name}: expected an integer, got ${x}`);
  if (check.min !== undefined && n < check.min) throw new CliError(`--${name}: must be at least ${check.min}, got ${x}`);
  if (check.max !== undefined && n > check.max) throw new CliError(`--${name}: must be at most ${check.max}, got ${x}`);
  return n;
}

export function list(v: Values, name: string, fallback: string[]): string[] {
  const x = optStr(v, name);
  return x === undefined ? fallback : x.split(',').map((s) => s.trim()).filter(Boolean);
}
