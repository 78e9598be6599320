#!/usr/bin/env node
// Entry of the `lora-studio` command: runs the built CLI (npm run build:cli).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist-cli/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('lora-studio: the CLI is not built yet; run `npm run build:cli` in the project folder.\n');
  process.exit(1);
}
const { main } = await import(cli);
process.exit(await main(process.argv.slice(2)));
