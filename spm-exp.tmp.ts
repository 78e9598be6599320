// Experiment (not committed): SPM vocab with scores = -(rank of the first merge producing the token).
import { writeFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { buildTinyModel } from './test/fixtures/tiny-model';
import { modelKvs } from './src/adapters/gguf';
import { collectChunks, ggufChunks, kv } from './src/engine/model/gguf-format';
import { expectedTensors } from './src/engine/model/config';
import { ggufTensorName } from './src/engine/model/gguf-model';
import { loadTokenizer } from './src/data/tokenizer';

const gemmaStyle = process.argv.includes('gemma');
const m = buildTinyModel({ tokenizer: 'llama', layers: 1, hiddenSize: 32, numHeads: 2, numKvHeads: 1, intermediateSize: 64, seed: 3 });
const tj = structuredClone(m.tokenizerJson) as any;
const tc = structuredClone(m.tokenizerConfig) as any;
if (gemmaStyle) { tj.normalizer = { type: 'Replace', pattern: { String: ' ' }, content: '▁' }; tc.tokenizer_class = 'GemmaTokenizer'; }
const vocab: Record<string, number> = tj.model.vocab;
const merges: string[] = tj.model.merges.map((x: any) => (Array.isArray(x) ? x.join(' ') : x));
const firstRank = new Map<string, number>();
merges.forEach((mg, r) => { const [a, b] = mg.split(' '); if (!firstRank.has(a + b)) firstRank.set(a + b, r); });
const V = m.config.vocabSize;
const byId: string[] = [];
for (const [t, id] of Object.entries(vocab)) byId[id] = t;
const tokens: string[] = [], scores: number[] = [], types: number[] = [];
for (let i = 0; i < V; i++) {
  const t = byId[i] ?? `[PAD${i}]`;
  tokens.push(t);
  scores.push(firstRank.has(t) ? -firstRank.get(t)! : 0);
  types.push(i === 0 ? 2 : i < 3 ? 3 : /^<0x[0-9A-F]{2}>$/.test(t) ? 6 : byId[i] ? 1 : 5);
}
const kvs = [...modelKvs(m.config), kv.str('tokenizer.ggml.model', 'llama'), kv.str('tokenizer.ggml.pre', 'default'), kv.arr('tokenizer.ggml.tokens', 'string', tokens), kv.arr('tokenizer.ggml.scores', 'f32', scores), kv.arr('tokenizer.ggml.token_type', 'i32', types), kv.u32('tokenizer.ggml.bos_token_id', 1), kv.u32('tokenizer.ggml.eos_token_id', 2), kv.u32('tokenizer.ggml.unknown_token_id', 0), kv.bool('tokenizer.ggml.add_bos_token', false), kv.bool('tokenizer.ggml.add_space_prefix', !gemmaStyle)];
const specs = expectedTensors(m.config).map((t) => ({ name: ggufTensorName(t.name), shape: t.shape, type: 'F32' as const }));
const bytes = await collectChunks(ggufChunks(kvs, specs, (s) => m.weights.get(expectedTensors(m.config).find((t) => ggufTensorName(t.name) === s.name)!.name)!));
writeFileSync('/tmp/spm.gguf', bytes);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: '/tmp/spm.gguf', vocabOnly: true });
const ours = loadTokenizer({ tokenizerJson: tj, tokenizerConfig: tc });
const texts = ['hello world', 'The quick brown fox jumps over the lazy dog.', '  two  spaces', 'line one\nline two\n\nthree', 'tabs\tand\ttabs', 'digits 12345 and 3.14159', 'unicode: café naïve 日本語 🙂', 'Paris is the capital of France', 'a', ' leading', 'trailing ', 'mixed CASE Words', 'the the the', 'capital capitals capitalism', '<s> literal', '   '];
let seed = 9; const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const pieces = tokens.filter((t, i) => types[i] === 1);
for (let k = 0; k < 300; k++) { let s = ''; const n = 1 + Math.floor(rnd() * 12); for (let j = 0; j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)].replaceAll('▁', ' '); if (rnd() < 0.2) s += '\n'; if (rnd() < 0.1) s += ' 42 é'; texts.push(s); }
let same = 0;
for (const t of texts) {
  const a = Array.from(model.tokenize(t, true) as number[]);
  const b = ours.encode(t);
  const ok = JSON.stringify(a) === JSON.stringify(b);
  if (ok) same++; else console.log('DIFF', JSON.stringify(t), '\n  llama.cpp', a.map((i) => tokens[i]).join('|'), '\n  ours     ', b.map((i) => tokens[i]).join('|'));
}
console.log(`${gemmaStyle ? 'gemma' : 'llama2'}-style: ${same}/${texts.length} identical`);
await model.dispose(); await llama.dispose();
