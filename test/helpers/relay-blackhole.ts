// A backend that never answers a new connection: a listener whose accept queue is full
// (backlog 0, never accepting, filled by its own connections), so the kernel drops SYNs
// and a connect to it stays in progress: what a dead host looks like, without firewall rules.
import { spawn, type ChildProcess } from 'node:child_process';

const SCRIPT = `
import socket, sys, time
listener = socket.socket(socket.AF_INET6)
listener.bind(('::1', int(sys.argv[1])))
listener.listen(0)
fillers = []
for _ in range(4):
    c = socket.socket(socket.AF_INET6)
    c.setblocking(False)
    try:
        c.connect(('::1', int(sys.argv[1])))
    except BlockingIOError:
        pass
    fillers.append(c)
time.sleep(0.3)
print('ready', flush=True)
time.sleep(3600)
`;

export function startBlackholeBackend(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`blackhole backend exited ${code}`)));
  });
}
