#!/usr/bin/env node
// Entry of the `lora-studio` command: runs the built CLI (npm run build:cli).
import { runBuiltCli } from './run-cli.mjs';

// exitCode, not process.exit(): the process ends once stdout and stderr have drained.
process.exitCode = await runBuiltCli(process.argv.slice(2));
