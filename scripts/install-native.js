// npm's install step: a matching prebuild, else a build from source (src/native/install-native.ts).
// In a git checkout dist/ is not compiled yet when npm ci runs this: build from source then.
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');

let installer;
try {
  installer = require(path.join(__dirname, '..', 'dist', 'src', 'native', 'install-native.js'));
} catch (err) {
  if (err.code !== 'MODULE_NOT_FOUND') throw err;
  const r = spawnSync('node-gyp', ['rebuild'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
process.exit(installer.main());
