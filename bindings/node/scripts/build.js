#!/usr/bin/env node
// Builds the native addon (crate `libcce-node`) with cargo and installs it as
// bindings/node/cce.node.
//
//   node scripts/build.js            debug build (the default)
//   node scripts/build.js --release  release build
//
// The cdylib's path is taken from cargo's own JSON messages, so a custom
// CARGO_TARGET_DIR or a shared target directory just works. `CARGO` picks the
// cargo binary (default: `cargo` on PATH).
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const packageDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(packageDir, '..', '..');
const dest = path.join(packageDir, 'cce.node');

function fail(message) {
  console.error(`libcce build: ${message}`);
  process.exit(1);
}

const args = ['build', '-p', 'libcce-node', '--message-format=json-render-diagnostics'];
for (const arg of process.argv.slice(2)) {
  if (arg === '--release') args.push('--release');
  else fail(`unknown argument ${arg} (only --release is accepted)`);
}

const cargo = process.env.CARGO || 'cargo';
console.error(`libcce build: ${cargo} ${args.join(' ')}`);
const result = spawnSync(cargo, args, {
  cwd: repoRoot,
  // JSON messages on stdout; cargo's progress and diagnostics go to our stderr.
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 512 * 1024 * 1024,
});
if (result.error) fail(`cannot run ${cargo}: ${result.error.message}`);
if (result.status !== 0) fail(`cargo exited with status ${result.status ?? result.signal}`);

const libNames = new Set(['libcce_node.so', 'libcce_node.dylib', 'cce_node.dll']);
let artifact = null;
for (const line of result.stdout.split('\n')) {
  if (!line.startsWith('{')) continue;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    continue;
  }
  if (msg.reason !== 'compiler-artifact' || !msg.target?.kind?.includes('cdylib')) continue;
  const file = (msg.filenames || []).find((f) => libNames.has(path.basename(f)));
  if (file) artifact = file;
}
if (!artifact) fail('cargo did not report the libcce-node library');

// Copy then rename, so that a process that has the old addon loaded keeps a
// consistent file and a reader never sees a half-written one.
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(artifact, tmp);
fs.renameSync(tmp, dest);
console.error(`libcce build: ${path.relative(repoRoot, artifact)} -> ${path.relative(repoRoot, dest)}`);
