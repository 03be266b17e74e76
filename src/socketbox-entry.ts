// What bin/socketbox runs, bundled with everything it imports into dist/src/socketbox.bundle.js
// (scripts/bundle-server.js): one file instead of about fifty modules, which took a quarter of
// the first connection's wait after socket activation. `node dist/src/main.js` is the same
// program, unbundled.
import { main } from './main';

void main(process.argv.slice(2));
