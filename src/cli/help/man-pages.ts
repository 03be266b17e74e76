/**
 * The manual pages (docs/packaging.md): man/source/PAGE.SECTION holds what only the manual
 * says (NAME, DESCRIPTION, FILES, SEE ALSO…) in roff, with `.\" @SYNOPSIS@` and
 * `.\" @OPTIONS@` where the program's own `--help` goes (help-to-roff.ts); `npm run build`
 * writes the finished pages to man/, which package.json's `man` field installs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findPackageRoot } from '../../native/build-products';
import { helpToRoff, roffText } from './help-to-roff';

export interface ManPage {
  /** man/source/FILE and man/FILE, e.g. socketbox.8 */
  file: string;
  /** How to get the program's --help (stdout and stderr), relative to the package root; none for a file format. */
  help?: string[];
}

export const MAN_PAGES: ManPage[] = [
  { file: 'socketbox.8', help: ['node', 'dist/src/main.js', '--help'] },
  { file: 'socketbox-inetd.8', help: ['node', 'dist/src/clients/inetd-main.js', '--help'] },
  { file: 'socketbox-inetd-p.8', help: ['node', 'dist/src/clients/inetd-p-main.js', '--help'] },
  { file: 'socketbox-relay.8', help: ['node', 'dist/src/relay/main.js', '--help'] },
  { file: 'run-with-socketbox.8', help: ['sh', 'bin/run-with-socketbox', '--help'] },
  { file: 'send-receive-fd.1', help: ['node', 'dist/src/clients/send-receive-fd-main.js', '--help'] },
  { file: 'socket-query.1', help: ['node', 'dist/src/clients/socket-query-main.js', '--help'] },
  { file: 'socketbox.conf.5' },
];

/** The help text of PAGE's program, as the user sees it. */
export function helpText(page: ManPage, root: string = findPackageRoot()): string {
  if (!page.help) return '';
  const [cmd, ...args] = page.help;
  const r = spawnSync(cmd === 'node' ? process.execPath : cmd, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${page.help.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

/** The finished roff of PAGE. */
export function renderManPage(page: ManPage, root: string = findPackageRoot()): string {
  const source = fs.readFileSync(path.join(root, 'man', 'source', page.file), 'utf8');
  const { synopsis, body } = helpToRoff(helpText(page, root));
  const synopsisRoff = synopsis
    .map((form) => {
      const [name, ...rest] = form.split(' ');
      return `\\fB${roffText(name)}\\fR ${roffText(rest.join(' '))}`;
    })
    .join('\n.br\n');
  return source.replace('.\\" @SYNOPSIS@', synopsisRoff).replace('.\\" @OPTIONS@', body);
}

/** Writes every page to man/; returns their paths. */
export function writeManPages(root: string = findPackageRoot()): string[] {
  return MAN_PAGES.map((page) => {
    const file = path.join(root, 'man', page.file);
    fs.writeFileSync(file, renderManPage(page, root));
    return file;
  });
}

if (require.main === module) console.log(`man pages: ${writeManPages().map((f) => path.basename(f)).join(', ')}`);
