// The shell half of `npm run lint`: shellcheck (Debian package `shellcheck`) over every shell
// script of the repository: *.sh, and any file whose first line is a sh or bash shebang (.ci/run).
'use strict';
const { spawnSync } = require('child_process');
const { readdirSync, readFileSync } = require('fs');
const { join, relative } = require('path');

const ROOT = join(__dirname, '..');
const SKIP = new Set(['.git', 'node_modules', '.tools', 'build', 'dist', 'chart', 'coverage']);

function shellScripts(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : shellScripts(path);
    if (!e.isFile()) return [];
    if (/\.(sh|bash)$/.test(e.name)) return [path];
    const head = readFileSync(path).subarray(0, 64).toString('latin1');
    return /^#!.*\b(ba|da)?sh\b/.test(head) ? [path] : [];
  });
}

const files = shellScripts(ROOT).map((f) => relative(ROOT, f)).sort();
const run = spawnSync('shellcheck', ['--external-sources', ...files], { cwd: ROOT, stdio: 'inherit' });
if (run.error) {
  process.stderr.write(`cannot run shellcheck (${run.error.code ?? run.error.message}): install the Debian package shellcheck (scripts/debian-packages.txt)\n`);
  process.exitCode = 1;
} else {
  if (run.status === 0) process.stdout.write(`shellcheck: ${files.length} script(s) clean\n`);
  process.exitCode = run.status ?? 1;
}
