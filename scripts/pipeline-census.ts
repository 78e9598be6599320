// Lists the compute pipelines the e2e offline flow compiles: a run of the mock Hub's tiny Llama
// (hidden 32) on the sample dataset with the spec's settings (3 steps, eval and checkpoint at 3),
// then the playground's base and tuned generations. Run: npx vite-node scripts/pipeline-census.ts
// (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for Chromium's software adapter).
import { readFileSync, writeFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { requestEngineDevice } from '../src/engine/gpu/device';
import { GpuContext } from '../src/engine/gpu/context';
import { tinyModelRepo } from '../test/mock-hub';
import { parseModelConfig } from '../src/engine/model/config';
import { memorySource, SafetensorsFile } from '../src/engine/model/safetensors';
import { loadTokenizer, parseDataset, selectTrainingExamples, tokenizeExamples, trainingData } from '../src/data';
import { DEFAULT_SETTINGS } from '../src/train/settings';
import { TrainingSession } from '../src/train/session';
import { generateWith } from '../src/worker/generation-service';
import { LlamaModel } from '../src/engine/model/llama';
import { uploadWeights } from '../src/engine/model/weights';

Object.assign(globalThis, globals);
const gpu = create(['backend=vulkan']); // kept referenced: Dawn crashes if its GPU object is collected
const dev = await requestEngineDevice(gpu);
// CENSUS_CHROMIUM=1: the caps of Chromium's SwiftShader adapter (no f16, 256 invocations, 10 storage buffers).
const ctx = process.env.CENSUS_CHROMIUM ? new GpuContext(dev.ctx.device, { f16: false, maxComputeInvocationsPerWorkgroup: 256, maxStorageBuffersPerShaderStage: 10 }) : dev.ctx;
const adapter = dev.adapter;
// CENSUS_DUMP=file.json: also writes each compiled pipeline's source, entry point and constants (to time them in a browser).
const dump: { label: string; code: string; entryPoint: string; constants: Record<string, number> }[] = [];
const pipelineOf = ctx.pipeline.bind(ctx);
ctx.pipeline = (code, opts = {}) => {
  const n = ctx.compiledPipelines.length;
  const p = pipelineOf(code, opts);
  if (ctx.compiledPipelines.length > n) dump.push({ ...ctx.compiledPipelines[n], code });
  return p;
};
console.log(adapter.name, adapter.features.join(','), ctx.caps.maxComputeInvocationsPerWorkgroup, ctx.caps.maxStorageBuffersPerShaderStage);
const files = tinyModelRepo({ hidden: Number(process.env.CENSUS_HIDDEN ?? 32) });
const cfg = parseModelConfig(JSON.parse(files['config.json'] as string));
const tok = loadTokenizer({ tokenizerJson: JSON.parse(files['tokenizer.json'] as string), tokenizerConfig: JSON.parse(files['tokenizer_config.json'] as string) });
const parsed = await parseDataset(readFileSync('public/samples/calendar-lines.jsonl'), { fileName: 'calendar-lines.jsonl' });
const examples = trainingData(await tokenizeExamples(tok, selectTrainingExamples(parsed), { lossMode: DEFAULT_SETTINGS.lossMode }));
const settings = { ...DEFAULT_SETTINGS, maxSteps: 3, valSplit: 0.02, batchSize: 1, gradAccum: 1, seqLen: 256, evalEvery: 3, checkpointEvery: 3, sampleEvery: 0, warmupSteps: 0 };
const store = () => SafetensorsFile.open(memorySource(files['model.safetensors'] as Uint8Array));
const padId = tok.padTokenId ?? tok.eosTokenId ?? 0;

let seen = 0;
const t0 = performance.now();
let tPhase = t0;
function phase(name: string) {
  const now = performance.now();
  const list = ctx.compiledPipelines.slice(seen);
  console.log(`\n== ${name}: ${list.length} new pipelines, ${(now - tPhase).toFixed(0)} ms`);
  for (const p of list) console.log(`  ${p.label}${p.entryPoint === 'main' ? '' : ` @${p.entryPoint}`} ${JSON.stringify(p.constants)}`);
  seen = ctx.compiledPipelines.length;
  tPhase = now;
}
const session = await TrainingSession.open(ctx, cfg, await store(), examples, settings, { padId, engine: { weightStorage: 'auto' } });
phase('open');
let step = 0;
const result = await session.run({
  onStep: async (m) => {
    step = m.step;
    phase(`step ${m.step}${m.valLoss !== undefined ? ' (+eval)' : ''}`);
  },
  onCheckpoint: async () => phase(`checkpoint at ${step}`),
});
const adapterOut = await session.exportAdapter('acme/tiny-llama');
phase(`run ${result.stoppedBy}, exported`);
const lora = session.trainer.lora;
const weights = await uploadWeights(ctx, cfg, await store(), { storage: 'auto' });
const model = new LlamaModel(ctx, cfg, weights);
const req = { messages: [{ role: 'user' as const, content: 'Dinner with Chen on Friday at 7 pm' }], maxNewTokens: 8, temperature: 0.7, topP: 0.9, seed: 1, adapterScale: 1 };
await generateWith(model, null, tok, req);
phase('playground base');
await generateWith(model, lora, tok, req);
phase('playground tuned');
void adapterOut;
if (process.env.CENSUS_DUMP) writeFileSync(process.env.CENSUS_DUMP, JSON.stringify(dump));
void gpu;
const byLabel = new Map<string, number>();
for (const p of ctx.compiledPipelines) byLabel.set(p.label, (byLabel.get(p.label) ?? 0) + 1);
console.log(`\nTOTAL ${ctx.compiledPipelines.length} pipelines in ${(performance.now() - t0).toFixed(0)} ms`);
for (const [k, n] of [...byLabel].sort()) console.log(`  ${n}  ${k}`);
process.exit(0);
