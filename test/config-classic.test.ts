import t from 'tap';
import { configErrorOf } from './helpers/config-error';
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClassicConfig } from '../src/config/classic-parser';
import { ConfigError } from '../src/config/config-error';
import { tokenizeConfig } from '../src/config/tokenize';
import { ClassicConfig } from '../src/config/model';
import { formatIPv6, parseIPv6, prefixMask } from '../src/net/address';
import { formatCheckSummary } from '../src/cli/check-summary';
import { compileTable } from '../src/table/compile';
import { referenceLookup } from '../src/table/reference-lookup';

const FUZZ_SEED = 20240611;
const hex = (bytes: Uint8Array | undefined | null) => (bytes ? Buffer.from(bytes).toString('hex') : null);
const parse = (text: string) => parseClassicConfig(text, 'test.conf');
const lines = (...list: string[]) => list.join('\n');

/** Runs the parser and returns its ConfigError (failing the test if there is none). */
const configError = (text: string) => configErrorOf(parse, text);

t.test('tokenizer', async (t) => {
  const tokenLines = tokenizeConfig('# comment\n\n  \t\nmax-rules:1\t rule-set:0\r\n ip:::1  fail\n');
  t.same(
    tokenLines.map((line) => ({ line: line.line, tokens: line.tokens.map((tok) => [tok.key, tok.value, tok.column]) })),
    [
      { line: 4, tokens: [['max-rules', '1', 1], ['rule-set', '0', 14]] },
      { line: 5, tokens: [['ip', '::1', 2], ['fail', null, 10]] },
    ],
  );
  // Columns count characters, so an astral character is one column.
  const [astral] = tokenizeConfig('\u{1F600} x');
  t.equal(astral.tokens[1].column, 3);
});

t.test('IPv6 addresses', async (t) => {
  t.equal(hex(parseIPv6('2001:db8::1')), '20010db8000000000000000000000001');
  t.equal(hex(parseIPv6('::')), '0'.repeat(32));
  t.equal(hex(parseIPv6('::ffff:127.0.0.5')), '00000000000000000000ffff7f000005');
  t.equal(hex(parseIPv6('1:2:3:4:5:6:7::')), '00010002000300040005000600070000');
  t.equal(hex(parseIPv6('1:2:3:4:5:6:1.2.3.4')), '00010002000300040005000601020304');
  t.equal(hex(parseIPv6('ABCD:EF01::')), 'abcdef01' + '0'.repeat(24));
  for (const bad of ['', '127.0.0.5', 'fe80::1%eth0', '[::1]', '1::2::3', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '00000::1', '::1.2.3', '::ffff:1.2.3.04', '1.2.3.4::', 'g::']) {
    t.equal(parseIPv6(bad), null, `rejects '${bad}'`);
  }
  t.equal(formatIPv6(parseIPv6('2001:0db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  t.equal(formatIPv6(parseIPv6('::ffff:10.1.2.3')!), '::ffff:10.1.2.3');
  t.equal(formatIPv6(parseIPv6('1:0:2:3:4:5:6:7')!), '1:0:2:3:4:5:6:7');
  t.equal(hex(prefixMask(0)), '0'.repeat(32));
  t.equal(hex(prefixMask(12)), 'fff0' + '0'.repeat(28));
  t.equal(hex(prefixMask(128)), 'f'.repeat(32));

  // Accepts exactly what Node accepts, minus zone ids.
  const addressLike = fc.stringMatching(/^[0-9a-fA-F:.%]{0,40}$/);
  const fromGroups = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 0, maxLength: 8 }), fc.nat(9), fc.boolean())
    .map(([groups, gap, v4]) => {
      const text = groups.map((g) => g.toString(16));
      if (gap < text.length + 1 && gap < 9) text.splice(gap, 0, '');
      let joined = text.join(':').replace(/^:/, '::').replace(/:$/, '::');
      if (v4) joined += (joined.endsWith(':') ? '' : ':') + '10.0.0.1';
      return joined;
    });
  fc.assert(
    fc.property(fc.oneof(addressLike, fromGroups), (text) => {
      t.equal(parseIPv6(text) !== null, isIPv6(text) && !text.includes('%'), text);
    }),
    { seed: FUZZ_SEED, numRuns: 400 },
  );
  // Formatting round-trips, and agrees with the WHATWG URL serializer (which never writes dotted quads).
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(15), (bytes, zeros) => {
      bytes.fill(0, zeros, Math.min(16, zeros + (zeros % 7)));
      const text = formatIPv6(bytes);
      t.equal(hex(parseIPv6(text)), hex(bytes));
      if (!text.includes('.')) t.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
    }),
    { seed: FUZZ_SEED, numRuns: 200 },
  );
});

t.test('accepts every token kind', async (t) => {
  const config = parse(
    lines(
      '# all the tokens',
      'max-rules:3',
      'rule-set:0 size:10',
      'ip:2001:db8::1 jump-unix:/run/a.sock',
      'ip:2001:db8::/64\trip:fd00::/ffff:ffff:: port:80 rport:1234 jump-map:1',
      'rip:::ffff:127.0.0.5 jump-fd:3',
      'port:0 jump-rule:2',
      'rport:65535 fail',
      'ip:::1',
      'default jump-unix:@abstract:name',
      'ip:::2 jump-unix:/after/default.sock',
      'rule-set:1',
      'default fail',
      'max-maps:2',
      'map-set:1 size:3 match-lip:64',
      'ip:2001:db8::5 port:8080 jump-fd:4',
      'rip:fd00::1 rport:99 jump-rule:0',
      'match-rip:48 match-lport',
      'match-rport',
      'default jump-map:0',
      '',
    ),
  );
  t.equal(config.file, 'test.conf');
  t.equal(config.maxRules, 3);
  t.equal(config.maxMaps, 2);
  t.equal(config.ruleSets.length, 3);
  t.equal(config.mapSets.length, 2);

  const [set0, set1, set2] = config.ruleSets;
  t.same(set0.declaredAt, { line: 3, column: 1 });
  t.equal(set0.size, 10);
  t.equal(set0.entries.length, 7);
  const [e1, e2, e3, e4, e5, e6, e7] = set0.entries;
  t.same(e1.at, { line: 4, column: 1 });
  t.equal(hex(e1.local?.address), '20010db8000000000000000000000001');
  t.equal(hex(e1.local?.mask), 'f'.repeat(32));
  t.same(e1.action, { kind: 'unix', path: '/run/a.sock', at: { line: 4, column: 16 } });
  t.equal(hex(e2.local?.mask), 'f'.repeat(16) + '0'.repeat(16));
  t.equal(hex(e2.remote?.mask), 'ffffffff' + '0'.repeat(24));
  t.equal(e2.localPort, 80);
  t.equal(e2.remotePort, 1234);
  t.same(e2.action, { kind: 'jump-map', id: 1, at: { line: 5, column: 60 } });
  t.equal(hex(e3.remote?.address), '00000000000000000000ffff7f000005');
  t.same(e3.action, { kind: 'fd', fd: 3, at: { line: 6, column: 22 } });
  t.equal(e4.localPort, 0);
  t.same(e4.action, { kind: 'jump-rule', id: 2, at: { line: 7, column: 8 } });
  t.equal(e5.remotePort, 65535);
  t.same(e5.action, { kind: 'fail', at: { line: 8, column: 13 } });
  t.same(e6.action, { kind: 'fail', at: null }, 'an entry without an action fails');
  t.same(set0.defaultAction, { kind: 'unix', path: '@abstract:name', at: { line: 10, column: 9 } });
  t.same(e7.action, { kind: 'unix', path: '/after/default.sock', at: { line: 11, column: 8 } });
  t.same(set1.defaultAction, { kind: 'fail', at: { line: 13, column: 9 } });
  t.equal(set1.entries.length, 0);
  t.same(set2, { kind: 'rule', id: 2, declaredAt: null, size: null, entries: [], defaultAction: null }, 'undeclared sets exist, empty');

  const [map0, map1] = config.mapSets;
  t.equal(map0.declaredAt, null);
  t.same(map0.match, { localPrefix: null, remotePrefix: null, localPort: false, remotePort: false });
  t.same(map1.match, { localPrefix: 64, remotePrefix: 48, localPort: true, remotePort: true });
  t.equal(map1.entries.length, 2);
  t.equal(map1.entries[0].localPort, 8080);
  t.equal(hex(map1.entries[0].local?.mask), 'f'.repeat(32), 'map entries keep the bare address');
  t.same(map1.defaultAction, { kind: 'jump-map', id: 0, at: { line: 20, column: 9 } });
});

t.test('layout details', async (t) => {
  t.test('CRLF line endings and tabs', async (t) => {
    const config = parse('max-rules:1\r\nrule-set:0\tsize:1\r\n\tip:::1\tfail\r\n');
    t.same(config.ruleSets[0].entries[0].at, { line: 3, column: 2 });
  });
  t.test('no max-rules at all: no rule sets', async (t) => {
    const config = parse('max-maps:1\nmap-set:0 size:1\nip:::1 fail\n');
    t.equal(config.maxRules, null);
    t.equal(config.ruleSets.length, 0);
    t.equal(config.mapSets.length, 1);
  });
  t.test('byte-order mark; leading zeros', async (t) => {
    const config = parse('\uFEFF# comment\nmax-rules:0000000000000000003\nrule-set:0002 size:01\nport:00080 jump-fd:000');
    t.equal(config.maxRules, 3);
    t.equal(config.ruleSets[2].entries[0].localPort, 80);
  });
  t.test('empty text', async (t) => {
    t.same(parse(''), { file: 'test.conf', maxRules: null, maxMaps: null, ruleSets: [], mapSets: [] });
  });
  t.test('a jump before its max-* is checked later and accepted when valid', async (t) => {
    const config = parse('max-rules:1\nrule-set:0 size:1\njump-map:4\nmax-maps:5\n');
    t.same(config.ruleSets[0].entries[0].action, { kind: 'jump-map', id: 4, at: { line: 3, column: 1 } });
  });
  t.test('a set can be filled exactly to its size; a 107-byte path is fine', async (t) => {
    const path = '/' + 'p'.repeat(106);
    const config = parse(`max-rules:1\nrule-set:0 size:2\nport:1 jump-unix:${path}\nport:2\n`);
    t.equal(config.ruleSets[0].entries.length, 2);
    t.equal(config.ruleSets[0].entries[0].action.kind === 'unix' && config.ruleSets[0].entries[0].action.path, path);
  });
  t.test('the documented example parses', async (t) => {
    const text = readFileSync(join(__dirname, '..', 'examples', 'socketbox.conf'), 'utf8');
    const config = parseClassicConfig(text, 'examples/socketbox.conf');
    t.equal(config.maxRules, 2);
    t.equal(config.maxMaps, 1);
    t.ok(config.ruleSets[0].entries.length > 0);
    t.ok(config.mapSets[0].entries.length > 0);
  });
});

/** [description, config text, line, column, exact reason]. */
const ERROR_CASES: Array<[string, string, number, number, string]> = [
  ['rule-set before max-rules', 'rule-set:0', 1, 1, 'rule-set:0 before max-rules'],
  ['map-set before max-maps', 'max-rules:1\n  map-set:0', 2, 3, 'map-set:0 before max-maps'],
  ['max-rules twice', 'max-rules:2\nmax-rules:2', 2, 1, 'max-rules given twice (first at line 1)'],
  ['max-maps twice', 'max-maps:2 max-maps:3', 1, 12, 'max-maps given twice (first at line 1)'],
  ['max-rules:0', 'max-rules:0', 1, 1, "max-rules must be 1..1000, not '0'"],
  ['max-maps:1001', 'max-maps:1001', 1, 1, "max-maps must be 1..1000, not '1001'"],
  ['max-rules without value', 'max-rules', 1, 1, 'max-rules needs a value (max-rules:...)'],
  ['rule set id too big', 'max-rules:5\nrule-set:5', 2, 1, 'rule-set:5: no rule set 5 (max-rules:5)'],
  ['map id too big', 'max-maps:2\nmap-set:7', 2, 1, 'map-set:7: no map 7 (max-maps:2)'],
  ['rule set reopened', 'max-rules:4\nrule-set:3\nrule-set:1\nrule-set:3', 4, 1, 'rule set 3 already defined at line 2'],
  ['map reopened', 'max-maps:2\nmap-set:1\nmap-set:0\n map-set:1', 4, 2, 'map 1 already defined at line 2'],
  ['size:0', 'max-rules:1\nrule-set:0 size:0', 2, 12, "size must be 1..1000, not '0'"],
  ['size:1001', 'max-rules:1\nrule-set:0 size:1001', 2, 12, "size must be 1..1000, not '1001'"],
  ['size twice', 'max-rules:1\nrule-set:0 size:1\nsize:2', 3, 1, 'size: given twice in rule set 0 (first at line 2)'],
  ['size outside a set', 'size:3', 1, 1, 'size outside any set; write rule-set:ID or map-set:ID first'],
  ['entry before size', 'max-rules:1\nrule-set:0\nport:80 fail', 3, 1, 'entry before size: in rule set 0'],
  ['entry before size on the same line', 'max-maps:1\nmap-set:0 ip:::1 size:1', 2, 11, 'entry before size: in map 0'],
  ['set full', 'max-rules:1\nrule-set:0 size:1\nport:1\n\tport:2 fail', 4, 2, 'rule set 0 is full (size:1)'],
  ['map full', 'max-maps:1\nmap-set:0 size:1\nport:1\nport:2', 4, 1, 'map 0 is full (size:1)'],
  ['jump-rule beyond max-rules', 'max-rules:5\nrule-set:0 size:1\nport:1 jump-rule:7', 3, 8, 'jump-rule:7: no rule set 7 (max-rules:5)'],
  ['jump-map beyond a later max-maps', 'max-rules:1\nrule-set:0 size:2\nport:1 jump-map:2\nmax-maps:2', 3, 8, 'jump-map:2: no map 2 (max-maps:2)'],
  ['jump-map with no max-maps at all', 'max-rules:1\nrule-set:0 size:2\nport:1 jump-map:0\nport:2 fail', 3, 8, 'jump-map:0: no map 0 (max-maps not given)'],
  ['default jump beyond max', 'max-rules:2\nrule-set:0\ndefault jump-rule:2', 3, 9, 'jump-rule:2: no rule set 2 (max-rules:2)'],
  ['jump id no set can have', 'max-rules:1\nrule-set:0 size:1\njump-rule:1000', 3, 1, "a rule set id must be 0..999, not '1000'"],
  ['mask in a map', 'max-maps:1\nmap-set:0 size:1\nip:2001:db8::/64', 3, 1, "maps take a bare address; the map's mask comes from match-lip/match-rip"],
  ['mask address in a map', 'max-maps:1\nmap-set:0 size:1\nport:1 rip:::1/::ffff', 3, 8, "maps take a bare address; the map's mask comes from match-lip/match-rip"],
  ['plain IPv4', 'max-rules:1\nrule-set:0 size:1\nip:127.0.0.5', 3, 1, "IPv4 address '127.0.0.5': rules match IPv4 clients as mapped addresses; write '::ffff:127.0.0.5'"],
  ['plain IPv4 prefix', 'max-rules:1\nrule-set:0 size:1\nrip:10.0.0.0/8', 3, 1, "IPv4 address '10.0.0.0': rules match IPv4 clients as mapped addresses; write '::ffff:10.0.0.0/104'"],
  ['zone id', 'max-rules:1\nrule-set:0 size:1\nip:fe80::1%eth0', 3, 1, "zone ids are not allowed in rules: 'fe80::1%eth0'"],
  ['brackets', 'max-rules:1\nrule-set:0 size:1\nip:[::1]', 3, 1, "write the address without brackets: '[::1]'"],
  ['not an address', 'max-rules:1\nrule-set:0 size:1\nip:zzz', 3, 1, "'zzz' is not an IPv6 address"],
  ['empty address', 'max-rules:1\nrule-set:0 size:1\nip:', 3, 1, "'' is not an IPv6 address"],
  ['ip without value', 'max-rules:1\nrule-set:0 size:1\nip', 3, 1, 'ip needs a value (ip:...)'],
  ['prefix too long', 'max-rules:1\nrule-set:0 size:1\nip:::1/129', 3, 1, "the prefix length must be 0..128, not '129'"],
  ['prefix not a number', 'max-rules:1\nrule-set:0 size:1\nip:::1/abc', 3, 1, "expected a decimal number after 'ip:', got 'abc'"],
  ['empty prefix', 'max-rules:1\nrule-set:0 size:1\nip:::1/', 3, 1, "expected a decimal number after 'ip:', got ''"],
  ['bad mask address', 'max-rules:1\nrule-set:0 size:1\nrip:::1/ffff::zz', 3, 1, "mask 'ffff::zz' is not an IPv6 address"],
  ['port too big', 'max-rules:1\nrule-set:0 size:1\nport:65536', 3, 1, "a port must be 0..65535, not '65536'"],
  ['port with junk', 'max-rules:1\nrule-set:0 size:1\nport:12abc', 3, 1, "expected a decimal number after 'port:', got '12abc'"],
  ['port with sign', 'max-rules:1\nrule-set:0 size:1\nrport:+3', 3, 1, "expected a decimal number after 'rport:', got '+3'"],
  ['port in hex', 'max-rules:1\nrule-set:0 size:1\nport:0x10', 3, 1, "expected a decimal number after 'port:', got '0x10'"],
  ['empty port', 'max-rules:1\nrule-set:0 size:1\nport:', 3, 1, "expected a decimal number after 'port:', got ''"],
  ['huge number', 'max-rules:99999999999999999999999', 1, 1, "max-rules must be 1..1000, not '99999999999999999999999'"],
  ['match-lip in a rule set', 'max-rules:1\nrule-set:0\nmatch-lip:64', 3, 1, 'match-lip only applies to maps (this is rule set 0)'],
  ['match-rport outside a set', 'match-rport', 1, 1, 'match-rport outside any set; write rule-set:ID or map-set:ID first'],
  ['match-lip twice', 'max-maps:1\nmap-set:0 match-lip:64\nmatch-lip:64', 3, 1, 'match-lip given twice in map 0 (first at line 2)'],
  ['match-rip too long', 'max-maps:1\nmap-set:0 match-rip:129', 2, 11, "the prefix length must be 0..128, not '129'"],
  ['match-lport with value', 'max-maps:1\nmap-set:0 match-lport:80', 2, 11, 'match-lport takes no value'],
  ['match-rport with value', 'max-maps:1\nmap-set:0 match-rport:', 2, 11, 'match-rport takes no value'],
  ['duplicate map key', 'max-maps:3\nmap-set:2 size:3 match-lip:64\nip:2001:db8::1 fail\nip:2001:db8::2 fail', 4, 1, 'duplicate key in map 2; first at line 3'],
  ['duplicate map key under a later mask', 'max-maps:1\nmap-set:0 size:3\nport:1 ip:::1\nport:1 ip:::2\nmatch-lport', 4, 1, 'duplicate key in map 0; first at line 3'],
  ['duplicate map key, no match-* at all', 'max-maps:1\nmap-set:0 size:3\nport:1\nport:2', 4, 1, 'duplicate key in map 0; first at line 3'],
  ['path too long', `max-rules:1\nrule-set:0 size:1\njump-unix:/${'x'.repeat(107)}`, 3, 1, 'UNIX socket path is 108 bytes; the limit is 107'],
  ['path too long in UTF-8', `max-rules:1\nrule-set:0\ndefault jump-unix:${'é'.repeat(54)}`, 3, 9, 'UNIX socket path is 108 bytes; the limit is 107'],
  ['empty path', 'max-rules:1\nrule-set:0 size:1\njump-unix:', 3, 1, 'the UNIX socket path is empty'],
  ['NUL in path', 'max-rules:1\nrule-set:0 size:1\njump-unix:/a\0b', 3, 1, 'the UNIX socket path contains a NUL byte'],
  ['@ alone (no abstract name)', 'max-rules:1\nrule-set:0\ndefault jump-unix:@', 3, 9, "the abstract socket name after '@' is empty"],
  ['negative fd', 'max-rules:1\nrule-set:0 size:1\njump-fd:-1', 3, 1, "expected a decimal number after 'jump-fd:', got '-1'"],
  ['fd too big', 'max-rules:1\nrule-set:0 size:1\njump-fd:2147483648', 3, 1, "a descriptor number must be 0..2147483647, not '2147483648'"],
  ['duplicate ip', 'max-rules:1\nrule-set:0 size:1\nip:::1 ip:::2', 3, 8, 'duplicate ip: in one entry'],
  ['duplicate rip', 'max-rules:1\nrule-set:0 size:1\nrip:::1 rip:::1', 3, 9, 'duplicate rip: in one entry'],
  ['duplicate port', 'max-rules:1\nrule-set:0 size:1\nport:1 port:1', 3, 8, 'duplicate port: in one entry'],
  ['duplicate rport', 'max-rules:1\nrule-set:0 size:1\nrport:1 fail rport:1', 3, 14, 'duplicate rport: in one entry'],
  ['two actions', 'max-rules:1\nrule-set:0 size:1\njump-unix:/a fail', 3, 14, "duplicate action in one entry (already 'jump-unix:/a')"],
  ['entry outside a set', 'max-rules:1\n\nip:::1 fail', 3, 1, 'ip outside any set; write rule-set:ID or map-set:ID first'],
  ['default without action', 'max-rules:1\nrule-set:0\ndefault', 3, 1, 'default needs an action: fail, jump-unix:PATH, jump-fd:N, jump-rule:ID or jump-map:ID'],
  ['default with a non-action', 'max-rules:1\nrule-set:0\ndefault ip:::1', 3, 9, "default needs an action (fail, jump-unix:PATH, jump-fd:N, jump-rule:ID or jump-map:ID), not 'ip:::1'"],
  ['default with two actions', 'max-rules:1\nrule-set:0\ndefault fail fail', 3, 14, "default takes exactly one action; unexpected 'fail'"],
  ['default twice', 'max-rules:1\nrule-set:0\ndefault fail\ndefault fail', 4, 1, 'default given twice in rule set 0 (first at line 3)'],
  ['default after an entry token', 'max-rules:1\nrule-set:0 size:1\nport:1 default fail', 3, 8, 'default after an entry token; write it on a line of its own'],
  ['default outside a set', 'default fail', 1, 1, 'default outside any set; write rule-set:ID or map-set:ID first'],
  ['default with a value', 'max-rules:1\nrule-set:0\ndefault:fail', 3, 1, 'default takes no value'],
  ['rule-set after an entry token', 'max-rules:2\nrule-set:0 size:1\nport:1 rule-set:1', 3, 8, 'rule-set: after an entry token; choose the set before its entries'],
  ['map-set after an entry token', 'max-rules:1\nmax-maps:1\nrule-set:0 size:1\nfail map-set:0', 4, 6, 'map-set: after an entry token; choose the set before its entries'],
  ['fail with value', 'max-rules:1\nrule-set:0 size:1\nfail:now', 3, 1, 'fail takes no value'],
  ['unknown token', 'max-rules:1 foo', 1, 13, "unknown token 'foo'"],
  ['unknown key with value', 'max-rules:1\nrule-set:0 size:1 matchlip:3', 2, 19, "unknown token 'matchlip:3'"],
  ['indented comment', 'max-rules:1\n  # not a comment', 2, 3, "unknown token '#' (a comment must start in the first column)"],
  ['huge unknown token', `x${'y'.repeat(100)}`, 1, 1, `unknown token 'x${'y'.repeat(56)}...'`],
];

t.test('errors: exact line, column and reason', async (t) => {
  for (const [description, text, line, column, reason] of ERROR_CASES) {
    const error = configError(text);
    t.same(
      { line: error.line, column: error.column, reason: error.reason },
      { line, column, reason },
      description,
    );
    t.equal(error.message, `test.conf:${line}:${column}: ${reason}`, `${description}: message`);
    t.equal(error.file, 'test.conf');
    t.equal(error.name, 'ConfigError');
  }
});

// ---- fuzzing: anything either parses or throws ConfigError ----

const VALID_BASE = [
  lines('max-rules:3', 'max-maps:2', 'rule-set:0 size:5', 'ip:2001:db8::/64 port:80 jump-map:1', 'rip:::ffff:10.0.0.1 jump-rule:2', 'default jump-unix:/run/x.sock'),
  lines('max-maps:2', 'map-set:1 size:4 match-lip:128 match-lport', 'ip:2001:db8::1 port:80 jump-fd:3', 'ip:2001:db8::2 port:80 fail', 'default fail'),
  lines('max-rules:2', 'rule-set:1', 'size:3', 'ip:::1/::ffff:0 rport:22 jump-rule:0', 'default jump-rule:1', 'rule-set:0 default jump-rule:1'),
];

const fragment = fc.constantFrom(
  'max-rules', 'max-maps', 'rule-set', 'map-set', 'size', 'match-lip', 'match-rip', 'match-lport', 'match-rport',
  'default', 'ip', 'rip', 'port', 'rport', 'jump-unix', 'jump-fd', 'jump-rule', 'jump-map', 'fail', '#', 'x',
);
const value = fc.oneof(
  fc.constantFrom('', '0', '1', '2', '5', '80', '128', '1000', '65536', '::1', '2001:db8::/64', '::ffff:1.2.3.4', '1.2.3.4', '::1/::ff', '/a/b', '@abs', '-1', '12abc', ':'),
  fc.string({ maxLength: 8 }),
  fc.string({ maxLength: 4, unit: 'binary' }),
);
const token = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fragment, fc.option(value, { nil: null })).map(([key, val]) => (val === null ? key : `${key}:${val}`)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'binary' }) },
);
const separator = fc.constantFrom(' ', '\t', '\n', '\n', '\r\n', '  ', '\n#');
const tokenSoup = fc
  .array(fc.tuple(token, separator), { maxLength: 40 })
  .map((pairs) => 'max-rules:3 max-maps:2\n' + pairs.map(([tok, sep]) => tok + sep).join(''));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat(5) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 5, unit: 'binary' }), separator, token) }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
const mutatedConfig = fc
  .tuple(fc.constantFrom(...VALID_BASE), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([base, mutations]) => {
    let text = base;
    for (const m of mutations) {
      const at = text.length === 0 ? 0 : m.at % text.length;
      if (m.kind === 'delete') text = text.slice(0, at) + text.slice(at + m.length);
      else if (m.kind === 'insert') text = text.slice(0, at) + m.text + text.slice(at);
      else if (m.kind === 'truncate') text = text.slice(0, at);
      else {
        const list = text.split('\n');
        const line = m.at % list.length;
        list.splice(line, 0, list[line]);
        text = list.join('\n');
      }
    }
    return text;
  });

/** Parses or fails cleanly; a parsed config must also compile and look up. */
function checkCleanOutcome(text: string): boolean {
  let config: ClassicConfig;
  try {
    config = parse(text);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lineCount = text.split('\n').length;
    if (!(error.line >= 1 && error.line <= lineCount && error.column >= 1)) throw new Error(`bad position: ${error.message}`, { cause: error });
    if (error.message !== `test.conf:${error.line}:${error.column}: ${error.reason}`) throw new Error('bad message format', { cause: error });
    return false;
  }
  compileTable(config, { pathSubstitution: true });
  referenceLookup(config, new Uint8Array(36));
  formatCheckSummary(config);
  return true;
}

t.test('fuzz: 2000 token soups and mutated configs parse or throw ConfigError', async (t) => {
  let parsed = 0;
  let rejected = 0;
  fc.assert(
    fc.property(fc.oneof(tokenSoup, mutatedConfig, fc.string({ maxLength: 60, unit: 'binary' })), (text) => {
      if (checkCleanOutcome(text)) parsed++;
      else rejected++;
    }),
    { seed: FUZZ_SEED, numRuns: 2000 },
  );
  t.equal(parsed + rejected, 2000);
  t.ok(parsed > 50, `some inputs parse (${parsed})`);
  t.ok(rejected > 50, `some inputs are rejected (${rejected})`);
});

// No wall-clock assertion here: a parser that went quadratic would hit this file's timeout
// (100k entries), and parse speed itself is measured by the benchmarks.
t.test('large inputs are parsed whole, huge tokens and lines reported precisely', async (t) => {
  const sets = 100;
  const perSet = 1000;
  const parts = [`max-rules:${sets}`];
  for (let s = 0; s < sets; s++) {
    parts.push(`rule-set:${s} size:${perSet}`);
    for (let e = 0; e < perSet; e++) parts.push(`ip:2001:db8::${e.toString(16)}/120 port:${e} jump-unix:/run/s${s}.sock`);
  }
  const config = parse(parts.join('\n'));
  t.equal(config.ruleSets[99].entries.length, perSet, '100k entries parsed');

  const bigMap = [`max-maps:1`, `map-set:0 size:1000 match-lip:128`];
  for (let e = 0; e < 1000; e++) bigMap.push(`ip:2001:db8::${e.toString(16)} jump-fd:${e}`);
  t.equal(parse(bigMap.join('\n')).mapSets[0].entries.length, 1000);

  t.equal(configError(`max-rules:1 ${'a'.repeat(1_000_000)}`).reason.length < 100, true, 'a huge token is quoted short');
  t.equal(configError(`max-rules:1\nrule-set:0 size:1\n${'port:1 '.repeat(200_000)}`).line, 3);
  t.equal(configError(`${'\n'.repeat(500_000)}bad`).line, 500_001);
});

t.test('check summary', async (t) => {
  const config = parse(
    lines(
      'max-rules:3',
      'max-maps:2',
      'rule-set:0 size:4',
      'ip:2001:db8::1 jump-unix:/run/a.sock',
      'ip:2001:db8::2 jump-map:1',
      'port:22',
      'default jump-unix:/run/a.sock',
      'rule-set:2 size:1',
      'jump-fd:3',
    ),
  );
  const text = formatCheckSummary(config);
  t.match(text, /^test\.conf: OK\n/);
  t.match(text, /max-rules: 3, max-maps: 2, 4 entries/);
  t.match(text, /rule-set:0 +line 3 +3\/4 entries +default: jump-unix:\/run\/a\.sock \(line 7\)/);
  t.match(text, /rule-set 1: not declared/);
  t.match(text, /map-set 0-1: not declared/);
  t.match(text, /unix:\/run\/a\.sock +1 entry, 1 default/);
  t.match(text, /fd:3 +1 entry/);
  t.match(text, /line 5: jump-map:1 goes to map-set:1, which is not declared \(no match\)/);
  t.match(text, /line 6: entry has no action, so it means fail/);
  t.match(text, /line 8: rule-set:2 is never reached from rule-set:0/);
  t.ok(text.split('\n').length < 30, 'fits a screen');

  const noStart = formatCheckSummary(parse('max-maps:1\nmap-set:0\n'));
  t.match(noStart, /no max-rules: there is no rule set 0, so every connection is refused/);
  t.match(noStart, /\(none: no connection can be delivered\)/);
  t.match(formatCheckSummary(parse('max-rules:2\nrule-set:1\n')), /rule-set:0 is not declared: every connection is refused/);
  t.match(
    formatCheckSummary(parse('max-rules:1\nrule-set:0 size:3\nfail\nport:1 fail\n')),
    /line 4: never matches; line 3 before it matches everything/,
  );
});
