import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';

export interface ThreadPoolOptions {
  filename: string;
  /** Threads started at once; a task finds one of them idle, or a new one is started. */
  threads: number;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
}

interface TaskResult {
  socketboxTaskResult: unknown;
}

const isResult = (m: unknown): m is TaskResult => typeof m === 'object' && m !== null && 'socketboxTaskResult' in m;

/**
 * The accept loops' worker threads: each runs one task at a time (its native loop, for as long
 * as socketbox serves) and is replaced when it dies. Plain worker threads rather than piscina:
 * loading piscina's modules on the main thread and in each worker took about a fifth of the
 * first connection's wait after socket activation. Emits every other message a thread posts as
 * 'message', and a thread's error as 'error' while someone listens.
 */
export class ThreadPool extends EventEmitter {
  private readonly idle: Worker[] = [];

  constructor(private readonly options: ThreadPoolOptions) {
    super();
    for (let i = 0; i < options.threads; i++) this.idle.push(this.startThread());
  }

  private startThread(): Worker {
    const worker = new Worker(this.options.filename, { execArgv: this.options.execArgv, env: this.options.env });
    worker.on('message', (m: unknown) => {
      if (!isResult(m)) this.emit('message', m);
    });
    worker.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    return worker;
  }

  /** Runs task on an idle thread; rejects when the thread dies first, or is terminated by signal. */
  run(task: unknown, { signal }: { signal: AbortSignal }): Promise<unknown> {
    const worker = this.idle.pop() ?? this.startThread();
    return new Promise((resolve, reject) => {
      // terminate() cannot stop a thread inside native code, so its exit may never come: the
      // task fails at once (its owner takes the loop back from the thread).
      const onAbort = (): void => {
        done();
        void worker.terminate();
        reject(new Error('The task has been aborted'));
      };
      const done = (): void => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: unknown): void => {
        if (!isResult(m)) return;
        done();
        this.idle.push(worker);
        resolve(m.socketboxTaskResult);
      };
      const onExit = (code: number): void => {
        done();
        reject(new Error(`the thread exited with status ${code}`));
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      worker.postMessage(task);
    });
  }

  /** Ends the idle threads (the busy ones end with their tasks). */
  async destroy(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
