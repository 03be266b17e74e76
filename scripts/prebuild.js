// npm run prebuild: builds (npm run build), then packs the products into prebuilds/
// (src/native/prebuild.ts). npm also runs a script named "prebuild" before every
// `npm run build` (a pre-script): that run does nothing, so a build stays a build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

/** The script `npm run` was asked for, from the nearest ancestor that is npm (Linux /proc). */
function requestedScript() {
  for (let pid = process.ppid, depth = 0; pid > 1 && depth < 4; depth++) {
    // npm sets its title ("npm run build"): the words may be separated by spaces.
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    const run = argv.findIndex((a) => a === 'run' || a === 'run-script');
    if (run >= 0) return argv.slice(run + 1).find((a) => !a.startsWith('-'));
    pid = Number(/^PPid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  }
  return undefined;
}

// The build this script starts runs it again, as its pre-script: nothing to do then.
if (process.env.SOCKETBOX_PREBUILD_RUNNING === '1' || requestedScript() !== 'prebuild') process.exit(0);
const root = path.join(__dirname, '..');
const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', env: { ...process.env, SOCKETBOX_PREBUILD_RUNNING: '1' } });
if (build.status !== 0) process.exit(build.status ?? 1);
process.exit(require(path.join(root, 'dist', 'src', 'native', 'prebuild.js')).main());
