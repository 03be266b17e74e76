// `npm run build:ts`, after tsc: bundles the server's compiled modules into one file for bin/socketbox,
// so that Node.js resolves, reads and compiles one script at start-up rather than one per module
// (docs/startup.md, "Start-up time"). Packages (prom-client) stay outside, loaded as they were.
// The bundle sits beside main.js, so paths built from __dirname mean the same in both.
const path = require('node:path');
const esbuild = require('esbuild');

const dist = path.join(__dirname, '..', 'dist', 'src');
esbuild.buildSync({
  entryPoints: [path.join(dist, 'socketbox-entry.js')],
  outfile: path.join(dist, 'socketbox.bundle.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
