/**
 * The manual pages (docs/packaging.md): package.json's `man` field installs exactly the pages
 * src/cli/help/man-pages.ts writes; the pages in man/ are what the sources and the programs'
 * current `--help` make; `groff -man -ww -z` says nothing about any of them and `man -l` renders
 * each; and every flag of each program's `--help` is in its rendered page, in fact the whole help
 * text is, word for word and in order, so the manual cannot drift from `--help`.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';
import { MAN_PAGES, helpText, renderManPage } from '../src/cli/help/man-pages';
import { splitHelp } from '../src/cli/help/help-to-roff';

const manFile = (file: string): string => path.join(projectRoot, 'man', file);

/** The page as a terminal shows it, in plain ASCII (no bold or underline). */
function rendered(file: string): string {
  const r = spawnSync('groff', ['-man', '-Tascii', '-P-cbou', '-rLL=100n', manFile(file)], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`groff ${file}: ${r.stderr}`);
  return r.stdout;
}

/** Words, whitespace-separated. */
function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}

/** The flags a help text names: -x, --long (not parts of words or paths). */
function flagsOf(help: string): string[] {
  return [...new Set([...help.matchAll(/(?<![\w/.-])(--?[A-Za-z][A-Za-z0-9-]*)/g)].map((m) => m[1]))];
}

t.test("package.json's man field lists exactly the generated pages", async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { man: string[]; files: string[] };
  t.same(pkg.man, MAN_PAGES.map((p) => `./man/${p.file}`), 'the same pages, in the same order');
  t.ok(pkg.files.includes('man/*.[158]'), 'the package carries them');
  const sections = MAN_PAGES.map((p) => p.file);
  t.same(sections.sort(), ['run-with-socketbox.8', 'send-receive-fd.1', 'socket-query.1', 'socketbox-inetd-p.8', 'socketbox-inetd.8', 'socketbox-relay.8', 'socketbox.8', 'socketbox.conf.5'], 'the eight pages');
});

for (const page of MAN_PAGES) {
  t.test(page.file, async (t) => {
    t.equal(fs.readFileSync(manFile(page.file), 'utf8'), renderManPage(page, projectRoot), 'man/ is current (npm run build writes it)');

    const warn = spawnSync('groff', ['-man', '-ww', '-z', manFile(page.file)], { encoding: 'utf8', timeout: 30_000 });
    t.equal(warn.status, 0, 'groff -man -ww -z exits 0');
    t.equal(`${warn.stdout}${warn.stderr}`, '', 'and prints nothing (no warning)');

    const man = spawnSync('man', ['-l', manFile(page.file)], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '100' } });
    t.equal(man.status, 0, 'man -l renders it');
    const name = page.file.replace(/\.\d$/, '');
    t.match(man.stdout, new RegExp(`^NAME\\n\\s+${name.replace(/\./g, '\\.')} - `, 'm'), 'with its NAME line');

    if (!page.help) return;
    const help = helpText(page, projectRoot);
    const text = rendered(page.file);
    const missing = flagsOf(help).filter((flag) => !new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(text));
    t.same(missing, [], `every flag of --help is in the page (${flagsOf(help).length}: ${flagsOf(help).join(' ')})`);
    const onPage = words(text).join(' ');
    const { synopsis, rest } = splitHelp(help);
    for (const form of synopsis) t.ok(onPage.includes(words(form).join(' ')), `the synopsis form '${form}'`);
    const body = words(rest.join('\n')).join(' ');
    t.ok(onPage.includes(body), `the rest of --help, word for word and in order (${words(body).length} words)`);
  });
}
