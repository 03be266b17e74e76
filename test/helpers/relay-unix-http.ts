// A small HTTP server on a UNIX stream socket, in Python: unlike Node, which pads abstract
// names to the full sun_path, Python binds '@name' with its exact length, as the relay and
// most daemons address it.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../../testkit/wait';
import { holdsUnixSocket } from '../../testkit/proc-unix';

const SERVER = `
import http.server, socketserver, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def address_string(self): return 'unix'
    def log_message(self, *args): pass
    def do_GET(self):
        body = ('python unix backend saw GET ' + self.path + '\\n').encode()
        self.send_response(200)
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
path = sys.argv[1]
socketserver.UnixStreamServer('\\0' + path[1:] if path.startswith('@') else path, Handler).serve_forever()
`;

/** Serves HTTP on path ('@name' = abstract) until killed; resolves once bound. */
export async function startPythonUnixHttp(path: string): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', SERVER, path], { stdio: 'ignore' });
  await waitFor(`python on ${path}`, () => {
    if (child.exitCode !== null) throw new Error(`python exited ${child.exitCode}`);
    return holdsUnixSocket(child.pid!, path);
  });
  return child;
}
