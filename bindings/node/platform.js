// Where the native addon of libcce comes from, in the napi-rs layout: a prebuilt addon
// ships in a per-platform npm package (`libcce-linux-x64-gnu`, ...) that the main
// package lists as an optional dependency, so npm installs only the one that fits.
'use strict';

/** The npm package holding the addon for `triple` (e.g. "linux-x64-gnu"). */
function platformPackage(triple) {
  return `libcce-${triple}`;
}

/** The addon's file name inside its platform package. */
function addonFile(triple) {
  return `libcce.${triple}.node`;
}

/** The napi-rs triple of this process: platform-arch, plus -gnu or -musl on Linux. */
function currentTriple() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  const glibc = report?.header?.glibcVersionRuntime;
  return `${base}-${glibc ? 'gnu' : 'musl'}`;
}

module.exports = { platformPackage, addonFile, currentTriple };
