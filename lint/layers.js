// The layer graph of DESIGN.md as one ESLint rule. Each import is resolved against the
// importing file, so `../data/DataScreen` from src/ui/shell is ui/ (not the data/ layer), and
// checked against the importing layer's allow-list (the table lives in eslint.config.js).
import path from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** The module an import names, relative to src/ ("engine/model/config") or to the repo ("shaders/x.wgsl"); null outside the repo. */
export function moduleOf(fromFile, spec) {
  const abs = path.resolve(path.dirname(fromFile), spec.replace(/\?.*$/, ''));
  const rel = path.relative(ROOT, abs).split(path.sep).join('/');
  if (rel.startsWith('../') || path.isAbsolute(rel)) return null;
  const mod = rel.replace(/\.(tsx?|jsx?|mjs)$/, '').replace(/\/index$/, '');
  return mod.startsWith('src/') ? mod.slice(4) : mod;
}

const within = (mod, entry) => mod === entry || mod.startsWith(`${entry}/`);
const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
const isNodeBuiltin = (spec) => spec.startsWith('node:') || builtinModules.includes(packageOf(spec));
/** Files whose names say they run only in Node (node-source.ts, x.node.ts) may use Node builtins. */
const isNodeFile = (file) => /^node-|\.node\.[jt]sx?$/.test(path.basename(file));

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports follow the layer graph of DESIGN.md' },
    schema: [
      {
        type: 'object',
        properties: {
          layer: { type: 'string' },
          why: { type: 'string' },
          allow: { type: 'array', items: { type: 'string' } },
          types: { type: 'array', items: { type: 'string' } },
          names: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          packages: { oneOf: [{ const: '*' }, { type: 'array', items: { type: 'string' } }] },
          node: { enum: [true, false, 'node-files'] },
        },
        required: ['layer', 'allow'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { layer, why = '', allow, types = [], names = {}, packages = '*', node = false } = context.options[0];
    const file = context.filename;
    const report = (node_, message) => context.report({ node: node_, message: `${message} (DESIGN.md import rules${why ? `: ${why}` : ''})` });

    function check(node_, spec, { typeOnly, imported }) {
      if (typeof spec !== 'string') return;
      if (!spec.startsWith('.') && !spec.startsWith('/')) {
        if (isNodeBuiltin(spec)) {
          if (node === true || (node === 'node-files' && isNodeFile(file))) return;
          report(node_, node === 'node-files' ? `${layer}/ uses Node builtins ('${spec}') only in files named node-*.ts or *.node.ts` : `${layer}/ runs in the browser: no Node builtins ('${spec}')`);
        } else if (packages !== '*' && !packages.includes(packageOf(spec))) {
          report(node_, `${layer}/ may not import the package '${spec}' (allowed: ${packages.join(', ') || 'none'})`);
        }
        return;
      }
      const mod = moduleOf(file, spec);
      if (mod === null || within(mod, layer) || allow.some((a) => within(mod, a))) return;
      if (typeOnly && types.some((t) => within(mod, t))) return;
      const only = Object.entries(names).find(([m]) => within(mod, m))?.[1];
      if (only) {
        const bad = imported === null ? ['*'] : imported.filter((n) => !only.includes(n));
        if (bad.length) report(node_, `${layer}/ may import only ${only.join(', ')} from ${mod}, not ${bad.join(', ')}`);
        return;
      }
      report(node_, `${layer}/ may not import ${mod}${types.length ? ' (types only from ' + types.join(', ') + ')' : ''}`);
    }

    /** Imported names of a declaration; null for namespace imports and `export *`. */
    const importedNames = (n) => {
      if (n.type === 'ExportAllDeclaration') return null;
      const specs = n.specifiers ?? [];
      if (specs.some((s) => s.type === 'ImportNamespaceSpecifier')) return null;
      return specs.map((s) => (s.type === 'ImportDefaultSpecifier' ? 'default' : (s.imported ?? s.local).name ?? (s.imported ?? s.local).value));
    };
    const typeOnlyDecl = (n) =>
      n.importKind === 'type' || n.exportKind === 'type' || ((n.specifiers ?? []).length > 0 && n.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));

    return {
      ImportDeclaration: (n) => check(n, n.source.value, { typeOnly: typeOnlyDecl(n), imported: importedNames(n) }),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value, { typeOnly: typeOnlyDecl(n), imported: importedNames(n) }),
      ExportAllDeclaration: (n) => check(n, n.source.value, { typeOnly: n.exportKind === 'type', imported: null }),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value, { typeOnly: false, imported: null }),
    };
  },
};

export default { rules: { imports: rule } };
