#!/usr/bin/env node
// Runs the compiled CLI (built by `npm install` / `npm run build` into dist/).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('higher-pose: the CLI is not built yet; run `npm run build` in the package folder');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
