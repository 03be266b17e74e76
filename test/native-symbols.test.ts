/**
 * One naming scheme for C symbols (docs/conventions.md): every symbol a build product exports
 * starts with skbox_ or SKBOX_, apart from what must carry another name — N-API's entry points,
 * the libc calls the preload library replaces and the start-up library's pthread_create. Read
 * with nm from the products as built; C++ symbols (mangled, _Z…) are the bindings' own.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';

const RELEASE = path.join(projectRoot, 'build', 'Release');
const NAPI = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
const ALLOWED: Record<string, string[]> = {
  'socketbox_server.node': NAPI,
  'socketbox_relay.node': NAPI,
  'socketbox_client.node': NAPI,
  'libsocketbox-preload.so': ['accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'listen'],
  'libsocketbox-startup.so': ['pthread_create'],
};

/** The C symbols a shared object defines and exports. */
function exportedCSymbols(file: string): string[] {
  const out = execFileSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 3 && /^[TDBRVW]$/.test(fields[1]) && !fields[2].startsWith('_Z'))
    .map((fields) => fields[2]);
}

for (const [product, allowed] of Object.entries(ALLOWED)) {
  t.test(`${product}: every exported C symbol is in the scheme`, async (t) => {
    const file = path.join(RELEASE, product);
    t.ok(fs.existsSync(file), `${product} is built`);
    const symbols = exportedCSymbols(file);
    const outside = symbols.filter((s) => !/^(skbox|SKBOX)_/.test(s) && !allowed.includes(s));
    t.same(outside, [], `symbols outside the scheme: ${outside.join(', ') || 'none'} (of ${symbols.length})`);
    for (const name of allowed) t.ok(symbols.includes(name), `${name} is exported`);
  });
}
