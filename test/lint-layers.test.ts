// The layer graph of eslint.config.js, exercised through ESLint itself: imports each layer may
// and may not make (DESIGN.md import rules).
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

/** The layer-rule messages ESLint gives `code` as if it were the file at `path`. */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: path });
  return result.messages.filter((m) => m.ruleId === 'layers/imports').map((m) => m.message);
}

// Loading the config (typescript-eslint) takes seconds on a busy machine.
describe('layer imports', { timeout: 60_000 }, () => {
  it('stores read persist/ but leave every write to the worker', async () => {
    expect(await layerErrors('src/store/x.ts', "import { listRuns, getMetrics } from '../persist/repo';")).toEqual([]);
    expect(await layerErrors('src/store/x.ts', "import { deleteRun, listRuns } from '../persist/repo';")).toEqual([expect.stringContaining('not deleteRun')]);
    expect(await layerErrors('src/store/x.ts', "import * as repo from '../persist/repo';")).toHaveLength(1);
    expect(await layerErrors('src/store/x.ts', "import { db } from '../persist/db';")).toHaveLength(1);
    expect(await layerErrors('src/store/x.ts', "import { TrainingSession } from '../train/session';")).toHaveLength(1);
    expect(await layerErrors('src/store/x.ts', "import { startRun } from '../worker/training-service';")).toHaveLength(1);
    expect(await layerErrors('src/store/x.ts', "import type { RunEvent } from '../worker/run-types';")).toEqual([]);
  });

  it('ui/ reaches the worker API and stores; its own data/ and model/ folders are not the layers', async () => {
    expect(await layerErrors('src/ui/shell/A.tsx', "import { DataScreen } from '../data/DataScreen';\nimport { useRuns } from '../../store/runs';\nimport { trainer } from '../../worker/client';")).toEqual([]);
    expect(await layerErrors('src/ui/shell/A.tsx', "import { parseDataset } from '../../data/parse';")).toHaveLength(1);
    expect(await layerErrors('src/ui/shell/A.tsx', "import { LlamaModel } from '../../engine/model/llama';")).toHaveLength(1);
    expect(await layerErrors('src/ui/shell/A.tsx', "import { listRuns } from '../../persist/repo';")).toHaveLength(1);
    expect(await layerErrors('src/ui/shell/A.tsx', "const m = import('../../hub');")).toHaveLength(1);
  });

  it('engine/ imports only shaders and itself, and Node builtins only in node-named files', async () => {
    expect(await layerErrors('src/engine/gpu/kernels/k.ts', "import code from '../../../../shaders/adamw.wgsl?raw';\nimport { ceilDiv } from '../grid';")).toEqual([]);
    expect(await layerErrors('src/engine/model/x.ts', "import { open } from 'node:fs/promises';")).toEqual([expect.stringContaining('node-*.ts')]);
    expect(await layerErrors('src/engine/model/x.ts', "import { join } from 'path';")).toHaveLength(1);
    expect(await layerErrors('src/engine/model/node-source.ts', "import { open } from 'node:fs/promises';")).toEqual([]);
    expect(await layerErrors('src/engine/model/x.ts', "import { create } from 'zustand';")).toHaveLength(1);
    expect(await layerErrors('src/engine/model/x.ts', "import { parseDataset } from '../../data/parse';")).toHaveLength(1);
  });

  it('the layers below the worker point down only', async () => {
    expect(await layerErrors('src/persist/x.ts', "import type { TrainSettings } from '../worker/settings';")).toHaveLength(1);
    expect(await layerErrors('src/persist/x.ts', "import type { TrainerCheckpoint } from '../train/trainer';")).toEqual([]);
    expect(await layerErrors('src/persist/x.ts', "import { TrainingSession } from '../train/session';")).toHaveLength(1);
    expect(await layerErrors('src/train/x.ts', "import { generateWith } from '../worker/generation-service';")).toHaveLength(1);
    expect(await layerErrors('src/data/x.ts', "import { readFile } from 'node:fs/promises';")).toHaveLength(1);
    expect(await layerErrors('src/data/x.ts', "import { LlamaModel } from '../engine/model/llama';\nimport { parseJsonObject } from '../engine/model/json';")).toHaveLength(1);
    expect(await layerErrors('src/eval/x.ts', "import { loadTokenizer } from '../data';")).toEqual([]);
    expect(await layerErrors('src/eval/x.ts', "import { LoraParams } from '../engine/model/lora-params';")).toHaveLength(1);
    expect(await layerErrors('src/cli/x.ts', "import { listRuns } from '../persist/repo';")).toHaveLength(1);
    expect(await layerErrors('src/cli/x.ts', "import { readFile } from 'node:fs/promises';\nimport { TrainingSession } from '../train/session';")).toEqual([]);
  });
});
