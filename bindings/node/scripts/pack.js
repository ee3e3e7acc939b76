#!/usr/bin/env node
// Packs the npm packages of libcce in the napi-rs layout (run by `make dist`):
//
//   libcce                   JavaScript, .d.ts and the loader; optionalDependencies on the
//                            platform packages, so npm installs only the matching one
//   libcce-linux-x64-gnu     the prebuilt addon `libcce.linux-x64-gnu.node` (os/cpu/libc)
//
//   node scripts/pack.js ADDON STAGING OUT
//
// ADDON is the release cdylib of crate libcce-node; STAGING is emptied and receives the
// two package directories; `npm pack` writes the tarballs into OUT.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [addon, staging, out] = process.argv.slice(2).map((p) => p && path.resolve(p));
if (!addon || !staging || !out) {
  console.error('usage: node scripts/pack.js ADDON STAGING OUT');
  process.exit(2);
}

const packageDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(packageDir, '..', '..');
const main = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
const { platformPackage, addonFile } = require('../platform.js');

const platform = { triple: 'linux-x64-gnu', os: ['linux'], cpu: ['x64'], libc: ['glibc'] };
const platformName = platformPackage(platform.triple);
const addonName = addonFile(platform.triple);

fs.rmSync(staging, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

function copy(from, toDir, name = path.basename(from)) {
  fs.mkdirSync(toDir, { recursive: true });
  fs.copyFileSync(from, path.join(toDir, name));
}

function pack(dir) {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(json)[0].filename;
}

// The platform package: the addon, its licence and a README.
const platformDir = path.join(staging, platformName);
copy(addon, platformDir, addonName);
copy(path.join(repoRoot, 'LICENSE'), platformDir);
fs.writeFileSync(
  path.join(platformDir, 'README.md'),
  `# ${platformName}\n\nThe prebuilt native addon of [libcce](https://www.npmjs.com/package/libcce) ` +
    `for ${platform.triple}. Install \`libcce\`, which depends on this package.\n`,
);
fs.writeFileSync(
  path.join(platformDir, 'package.json'),
  `${JSON.stringify(
    {
      name: platformName,
      version: main.version,
      description: `The ${platform.triple} native addon of libcce`,
      license: main.license,
      main: addonName,
      files: [addonName, 'LICENSE', 'README.md'],
      os: platform.os,
      cpu: platform.cpu,
      libc: platform.libc,
      engines: main.engines,
    },
    null,
    2,
  )}\n`,
);

// The main package: the files it lists (never a locally built cce.node), its licence,
// and the platform packages as optional dependencies pinned to the same version.
const mainDir = path.join(staging, 'libcce');
const files = main.files.filter((f) => !f.endsWith('.node') && !f.startsWith('scripts/'));
for (const f of files) copy(path.join(packageDir, f), path.dirname(path.join(mainDir, f)));
copy(path.join(repoRoot, 'LICENSE'), mainDir);
copy(path.join(packageDir, 'README.md'), mainDir);
const { scripts, devDependencies, private: _private, ...rest } = main;
const mainJson = {
  ...rest,
  files: [...files, 'LICENSE'],
  optionalDependencies: { [platformName]: main.version },
};
fs.writeFileSync(path.join(mainDir, 'package.json'), `${JSON.stringify(mainJson, null, 2)}\n`);

for (const dir of [platformDir, mainDir]) console.log(`dist: npm pack ${path.basename(dir)} -> ${pack(dir)}`);
