// Type-checks index.d.ts against test/types-check.ts with the TypeScript devDependency.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

let tsc = null;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  // TypeScript not installed (npm ci --omit=dev): nothing to check with.
}

test('index.d.ts type-checks (tsc --noEmit)', { skip: tsc === null && 'typescript is not installed', timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
    cwd: packageDir,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});
