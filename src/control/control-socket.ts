/**
 * `--control PATH`: the control socket (docs/control.md). Its file is created before the
 * privilege drop, owned by the identity socketbox becomes and mode 0600, in one step
 * (native/server/control_socket.c); requests are served on the main thread from the
 * start of serving until the stop, which removes the file.
 *
 * A local client cannot tie up the main thread: connections are bounded in number, each
 * request in size, and a connection that sends nothing complete for a while is closed.
 * Anything malformed gets an error answer and its connection, alone, is closed.
 */
import * as net from 'node:net';
import type { ServerAddon } from '../native/server-addon';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { Identity } from '../server/identity';
import type { ControlHandover } from '../server/upgrade/upgrade-environment';
import { logError, logInfo, logWarn } from '../server/log';
import { COMMANDS } from './commands';
import type { ControlContext } from './context';
import { type Answer, errorAnswer, formatAnswer, MAX_REQUEST_BYTES, parseRequest, requestProblem } from './protocol';

/** More at once are answered with an error and closed. */
export const MAX_CONTROL_CONNECTIONS = 8;
/** A connection with no complete request for this long is closed. */
export const CONTROL_IDLE_TIMEOUT_MS = 10_000;
const LISTEN_BACKLOG = 16;
/** A client that does not read its error answer is cut off after this. */
const CLOSE_GRACE_MS = 1000;

interface SocketFile {
  fd: number;
  dirFd: number;
  name: string;
  dev: number;
  ino: number;
}

export class ControlSocket {
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();

  private constructor(
    private readonly addon: ServerAddon,
    readonly path: string,
    private readonly file: SocketFile,
  ) {}

  /** Before the privilege drop (and chroot): PATH is as seen now; the file is owned by `identity`. */
  static open(addon: ServerAddon, path: string, identity: Identity): ControlSocket {
    const file = addon.openControlSocket(path, identity.uid ?? -1, identity.gid ?? -1, LISTEN_BACKLOG);
    return new ControlSocket(addon, path, file);
  }

  /**
   * After a live upgrade: the socket the old process served, at the same path. The file's
   * identity is read through the directory descriptor, so the stop removes that very file.
   */
  static adopt(addon: ServerAddon, path: string, inherited: ControlHandover): ControlSocket {
    const name = nodePath.basename(path);
    let id = { dev: 0, ino: 0 }; // matches no file: left in place (the next start replaces it)
    try {
      const stat = fs.lstatSync(`/proc/self/fd/${inherited.dirFd}/${name}`);
      id = { dev: stat.dev, ino: stat.ino };
    } catch {
      // A directory the dropped user cannot search: it could not remove the file either.
    }
    return new ControlSocket(addon, path, { fd: inherited.fd, dirFd: inherited.dirFd, name, ...id });
  }

  get fd(): number {
    return this.file.fd;
  }

  /** What a live upgrade hands to the new process. */
  handover(): ControlHandover {
    return { fd: this.file.fd, dirFd: this.file.dirFd };
  }

  /** Requests are answered from now on. */
  serve(context: ControlContext): void {
    // Half-open: a client that ends its side after half a request still gets the error.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket, context));
    this.server.on('error', (err) => logError(`control socket ${this.path}: ${err.message}`));
    this.server.listen({ fd: this.file.fd });
    logInfo(`control socket at ${this.path}`);
  }

  /**
   * Closes every control connection and the socket, and removes its file. handOver (a live
   * upgrade): the new process serves the socket now, so the file stays, and connections are
   * left to finish (the one that asked for the upgrade still gets its answer).
   */
  close(handOver = false): void {
    if (this.server) this.server.close();
    else this.addon.closeFd(this.file.fd);
    if (handOver) return;
    for (const socket of this.connections) socket.destroy();
    try {
      this.addon.removeControlSocket(this.file);
    } catch (err) {
      logWarn(`${(err as Error).message}; the next start replaces it`);
    }
  }

  private accept(socket: net.Socket, context: ControlContext): void {
    if (this.connections.size >= MAX_CONTROL_CONNECTIONS) {
      closeWith(socket, errorAnswer(`too many control connections (${MAX_CONTROL_CONNECTIONS}); try again later`));
      return;
    }
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    new ControlConnection(socket, context).start();
  }
}

/** Answers `answer` in text, then closes: the client broke the protocol. */
function closeWith(socket: net.Socket, answer: Answer, json = false): void {
  socket.end(formatAnswer(answer, json));
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/** One client: its requests in order, one answer each. */
class ControlConnection {
  private buffered = Buffer.alloc(0);
  private closing = false;
  // A command is being answered asynchronously (upgrade): later requests wait their turn.
  private waiting = false;
  private endWhenAnswered = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly context: ControlContext,
  ) {}

  start(): void {
    this.socket.setTimeout(CONTROL_IDLE_TIMEOUT_MS);
    this.socket.on('timeout', () => this.fail(`no complete request within ${CONTROL_IDLE_TIMEOUT_MS / 1000} s`));
    this.socket.on('data', (chunk: Buffer) => {
      if (this.closing) return;
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.work();
    });
    this.socket.on('drain', () => {
      this.socket.resume();
      this.work();
    });
    this.socket.on('end', () => {
      if (this.buffered.length > 0 && !this.closing) this.fail('the request ended without a newline');
      else if (this.waiting) this.endWhenAnswered = true;
      else this.socket.end();
    });
  }

  /** Answers the complete requests buffered, pausing while the client does not read. */
  private work(): void {
    while (!this.closing && !this.waiting) {
      const newline = this.buffered.indexOf(0x0a);
      if (newline < 0) {
        if (this.buffered.length >= MAX_REQUEST_BYTES) this.fail(`a request is at most ${MAX_REQUEST_BYTES} bytes with its newline`);
        else if (requestProblem(this.buffered.toString('latin1').replace(/\r$/, ''))) this.fail('the request must be printable ASCII text');
        return;
      }
      if (newline + 1 > MAX_REQUEST_BYTES) return this.fail(`a request is at most ${MAX_REQUEST_BYTES} bytes with its newline`);
      const line = this.buffered.subarray(0, newline).toString('latin1').replace(/\r$/, '');
      this.buffered = this.buffered.subarray(newline + 1);
      if (!this.answer(line)) {
        this.socket.pause(); // resumed on 'drain'
        return;
      }
    }
  }

  /** false when the client must read before more is answered. */
  private answer(line: string): boolean {
    const problem = requestProblem(line);
    if (problem) {
      this.fail(problem);
      return true;
    }
    const request = parseRequest(line);
    const command = Object.hasOwn(COMMANDS, request.command) ? COMMANDS[request.command] : undefined;
    if (!command) {
      const known = Object.keys(COMMANDS).join(', ');
      this.fail(request.command === '' ? `empty request (commands: ${known})` : `unknown command '${request.command}' (commands: ${known})`, request.json);
      return true;
    }
    let answer: Answer | Promise<Answer>;
    if (request.args.length < command.minArgs || request.args.length > command.maxArgs)
      answer = errorAnswer(`usage: ${request.command}${command.args ? ` ${command.args}` : ''}`);
    else answer = this.run(() => command.run(this.context, request.args));
    if (!(answer instanceof Promise)) return this.socket.write(formatAnswer(answer, request.json));
    // Not idle meanwhile: the client waits for us, not the other way round. Nothing more is
    // read until the answer is out, so what a client sends meanwhile stays in the kernel.
    this.waiting = true;
    this.socket.setTimeout(0);
    this.socket.pause();
    void answer.then((done) => {
      this.waiting = false;
      if (this.socket.destroyed) return;
      const flushed = this.socket.write(formatAnswer(done, request.json));
      if (this.endWhenAnswered) return void this.socket.end();
      this.socket.setTimeout(CONTROL_IDLE_TIMEOUT_MS);
      if (!flushed) return; // resumed on 'drain'
      this.socket.resume();
      this.work();
    });
    return true;
  }

  private run(command: () => Answer | Promise<Answer>): Answer | Promise<Answer> {
    const internal = (err: unknown): Answer => {
      logError(`control socket: ${(err as Error).message}`);
      return errorAnswer(`internal error: ${(err as Error).message}`);
    };
    try {
      const answer = command();
      return answer instanceof Promise ? answer.catch(internal) : answer;
    } catch (err) {
      return internal(err);
    }
  }

  private fail(why: string, json = false): void {
    if (this.closing) return;
    this.closing = true;
    this.buffered = Buffer.alloc(0);
    this.socket.setTimeout(0);
    closeWith(this.socket, errorAnswer(why), json);
  }
}
