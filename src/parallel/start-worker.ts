/** Starting this library's worker threads, from the built JavaScript or from the TypeScript sources. */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts worker module `name` (without extension) that lies beside the module at `callerUrl`
 * (its `import.meta.url`). From the TypeScript sources (tests and bench run under tsx) the
 * worker registers tsx's loader before it imports its module.
 */
export function startModuleWorker(name: string, callerUrl: string): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, callerUrl).href;
  // tsx's ESM API, found through its package.json (its `require` build fails to register).
  const loader = fromSource ? new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(callerUrl).resolve('tsx/package.json'))).href : null;
  const boot = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) (await import(workerData.loader)).register();
  await import(workerData.entry);
})();`;
  return new Worker(boot, { eval: true, workerData: { entry, loader } });
}
