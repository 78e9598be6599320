// A small YAML emitter for recipe configs: block mappings and sequences of plain values. Strings
// are written plain only where every YAML reader (1.1 and 1.2) reads them back as the same string;
// otherwise double-quoted (JSON escapes are valid YAML). Floats always carry a dot, so a YAML 1.1
// reader (PyYAML) does not take "1e-08" for a string.

export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue };

const PLAIN = /^[A-Za-z_/.][A-Za-z0-9_./-]*$/;
// Words YAML 1.1 reads as booleans or null, and plain scalars that look like numbers.
const RESERVED = /^(y|yes|n|no|true|false|on|off|null|~|[-+]?\.(inf|nan)|\.)$/i;

export function yamlScalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`YAML: cannot write ${v}`);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const s = String(v);
    if (!s.includes('e')) return s;
    const [mant, exp] = v.toExponential().split('e');
    return `${mant.includes('.') ? mant : `${mant}.0`}e${exp.startsWith('-') ? exp : `+${exp.replace('+', '')}`}`;
  }
  return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
}

const isMap = (v: YamlValue): v is { readonly [key: string]: YamlValue } => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEmpty = (v: YamlValue) => (Array.isArray(v) ? v.length === 0 : isMap(v) && Object.keys(v).length === 0);

function lines(v: YamlValue, indent: string): string[] {
  if (isMap(v)) {
    const out: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      const key = yamlScalar(k);
      if (isEmpty(x)) out.push(`${indent}${key}: ${Array.isArray(x) ? '[]' : '{}'}`);
      else if (isMap(x) || Array.isArray(x)) out.push(`${indent}${key}:`, ...lines(x, indent + '  '));
      else out.push(`${indent}${key}: ${yamlScalar(x as string | number | boolean | null)}`);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const x of v as readonly YamlValue[]) {
      if (isMap(x) && !isEmpty(x)) {
        // The first key goes on the dash line; the rest line up under it.
        const inner = lines(x, indent + '  ');
        out.push(`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1));
      } else if (Array.isArray(x) && !isEmpty(x)) throw new Error('YAML: nested sequences are not written');
      else out.push(`${indent}- ${isEmpty(x) ? (Array.isArray(x) ? '[]' : '{}') : yamlScalar(x as string | number | boolean | null)}`);
    }
    return out;
  }
  throw new Error('YAML: a document must be a mapping or a sequence');
}

/** A YAML document for a top-level mapping, with `#` comment lines before it. */
export function toYaml(doc: { readonly [key: string]: YamlValue }, comments: readonly string[] = []): string {
  return [...comments.map((c) => (c ? `# ${c}` : '#')), ...lines(doc, '')].join('\n') + '\n';
}
