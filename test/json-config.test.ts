/**
 * The JSON config format (docs/config-json.md): the positioned JSON parser, the checked
 * model parseJsonConfig builds, the exact `file:line:column: reason` of bad
 * inputs, the `--check` summary, and a fuzz run: mutated valid configs either
 * parse (and then compile to a table the native loader accepts) or throw a
 * ConfigError positioned inside the input — never anything else.
 */
import { configErrorOf } from './helpers/config-error';
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../src/config/config-error';
import { JsonNode, parseJsonText } from '../src/config/json-text';
import { isJsonConfigFile } from '../src/config/config-file-kind';
import { parseJsonConfig } from '../src/config/json-parser';
import { JsonConfig } from '../src/config/json-model';
import { formatJsonCheckSummary } from '../src/cli/json-check-summary';
import { compileJsonTable } from '../src/table/compile-json';
import { serverAddon } from '../src/native/server-addon';

const FILE = 'test.json';
const FC_SEED = 0x15_0c0f;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const parse = (text: string) => parseJsonConfig(text, FILE);

/** Runs the parser and returns its ConfigError (failing the test if there is none). */
const configError = (text: string) => configErrorOf(parse, text);

/** A node tree as the plain value JSON.parse would give. */
function plain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object':
      return Object.fromEntries(node.members.map((m) => [m.key, plain(m.value)]));
    case 'array':
      return node.items.map(plain);
    case 'null':
      return null;
    default:
      return node.value;
  }
}

// ---- a valid config written one section per line, so cases can name lines ----

interface Sections {
  incoming?: string;
  paths?: string;
  outgoing?: string;
  rules?: string;
  /** Extra top-level members, on line 7. */
  extra?: string;
}

/** Lines: 1 `{`, 2 version, 3 incoming, 4 paths, 5 outgoing, 6 rules, (7 extra). */
function sections(over: Sections): string {
  const lines = [
    '{',
    '  "socketbox-version": 1,',
    `  "incoming": ${over.incoming ?? '[{"address": "::", "port": 8080}]'},`,
    `  "paths": ${over.paths ?? '[{"socket": "/run/a.sock"}]'},`,
    `  "outgoing": ${over.outgoing ?? '[{"uid": 1000, "path_nr": 0}]'},`,
    `  "rules": ${over.rules ?? '{"_start": {"type": "rule", "rules": [{"jump": "o:0"}]}}'}${over.extra ? ',' : ''}`,
  ];
  if (over.extra) lines.push(`  ${over.extra}`);
  lines.push('}');
  return lines.join('\n');
}

const entryRules = (entry: string) => `{"_start": {"type": "rule", "rules": [${entry}]}}`;

t.test('isJsonConfigFile', async (t) => {
  t.ok(isJsonConfigFile('/etc/socketbox.json'));
  t.ok(isJsonConfigFile('A.JSON'));
  t.notOk(isJsonConfigFile('/etc/socketbox.conf'));
  t.notOk(isJsonConfigFile('json'));
  t.notOk(isJsonConfigFile('x.json.bak'));
});

t.test('the positioned JSON parser', async (t) => {
  const node = parseJsonText('\uFEFF{\n  "a": [1, -2.5e3, true, null],\r\n\t"\u{1F600}b": {"c": "x\\u00e9\\ud83d\\ude00\\n"}\n}\n', FILE);
  t.equal(node.kind, 'object');
  if (node.kind !== 'object') return;
  t.same(
    node.members.map((m) => [m.key, m.keyAt.line, m.keyAt.column, m.value.line, m.value.column]),
    [
      ['a', 2, 3, 2, 8],
      ['\u{1F600}b', 3, 2, 3, 8], // the astral character is one column
    ],
  );
  t.same(plain(node), { a: [1, -2500, true, null], '\u{1F600}b': { c: 'x\u00e9\u{1F600}\n' } });
  const array = node.members[0].value;
  if (array.kind === 'array') t.same(array.items.map((item) => item.column), [9, 12, 20, 26]);

  // Agrees with JSON.parse on any JSON text.
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, 2, '\t'), (value, space) => {
      const text = JSON.stringify(value, null, space);
      t.same(plain(parseJsonText(text, FILE)), JSON.parse(text));
    }),
    { seed: FC_SEED, numRuns: 300 },
  );
});

t.test('a config with every key parses to the expected model', async (t) => {
  const text = [
    '{',
    '  "socketbox-version": 1,',
    '  "incoming": [',
    '    {"fd": 3},',
    '    {"fd": 4, "listen": true, "backlog": 16},',
    '    {"address": "2001:db8::1", "port": "443", "transparent": true, "freebind": true,',
    '     "reuseaddr": false, "reuseport": true, "backlog": 65535, "netns": "/run/netns/web"},',
    '    {"address": "127.0.0.1", "port": 0}',
    '  ],',
    '  "paths": [{"socket": "@api", "mode": "0660", "uid": 0, "gid": "www"}, {"socket": "/run/b.sock", "uid": -1}],',
    '  "outgoing": [{"uid": "alice", "path_nr": 0}, {"uid": 1001, "path_nr": 1}],',
    '  "daemon": {"uid": "socketbox", "gid": 100, "groups": [1, "adm"], "chroot": "/var/empty", "api_connections_per_uid": 7},',
    '  "final_netns": "/run/netns/inner",',
    '  "rules": {',
    '    "web": {"type": "map", "mask": {"l_ip": "::", "l_mask": "ffff:ffff:ffff:ffff::", "l_port": 0, "incoming_socket": 0},',
    '            "rules": [{"l_ip": "2001:db8::1", "l_port": 80, "incoming_socket": 2, "jump": "o:1"}, {"l_ip": "2001:db8::1", "l_port": 80, "jump": "o:0"}]},',
    '    "_start": {"type": "rule", "rules": [',
    '      {"l_ip": "10.0.0.0/8", "r_ip": "2001:db8::", "r_mask": "ffff::", "jump": "r:web"},',
    '      {"l_ip": "2001:db8::1:2", "l_mask": "ffff::ff00:ff", "r_ip": "::ffff:1.2.3.4", "r_mask": "255.255.255.0", "jump": "o:0"},',
    '      {"l_ip": "fd00::/7", "l_port": 22, "r_port": "65535", "incoming_socket": 3, "jump": "o:1"},',
    '      {"jump": "r:_start"}',
    '    ]},',
    '    "plain": {"type": "map", "rules": [{"l_ip": "::1", "r_ip": "::2", "l_port": 1, "r_port": 2, "jump": "o:0"}]}',
    '  }',
    '}',
  ].join('\n');
  const config = parse(text);
  t.equal(config.file, FILE);
  t.same(config.incoming[0], { kind: 'fd', index: 0, at: { line: 4, column: 5 }, backlog: 4096, fd: 3, listen: false });
  t.same(config.incoming[1], { kind: 'fd', index: 1, at: { line: 5, column: 5 }, backlog: 16, fd: 4, listen: true });
  const bound = config.incoming[2];
  t.equal(bound.kind, 'bind');
  if (bound.kind === 'bind') {
    t.equal(hex(bound.address), '20010db8000000000000000000000001');
    t.same(
      [bound.port, bound.transparent, bound.freebind, bound.reuseaddr, bound.reuseport, bound.backlog, bound.netns],
      [443, true, true, false, true, 65535, '/run/netns/web'],
    );
  }
  const v4 = config.incoming[3];
  if (v4.kind === 'bind') {
    t.equal(hex(v4.address), '00000000000000000000ffff7f000001');
    t.same([v4.port, v4.transparent, v4.freebind, v4.reuseaddr, v4.reuseport, v4.backlog, v4.netns], [0, false, false, true, false, 4096, null]);
  }
  t.same(config.paths, [
    { index: 0, at: { line: 10, column: 13 }, socket: '@api', mode: 0o660, uid: 0, gid: 'www' },
    { index: 1, at: { line: 10, column: 73 }, socket: '/run/b.sock', mode: 0o700, uid: -1, gid: -1 },
  ]);
  t.same(config.outgoing, [
    { slot: 0, at: { line: 11, column: 16 }, uid: 'alice', pathNr: 0 },
    { slot: 1, at: { line: 11, column: 48 }, uid: 1001, pathNr: 1 },
  ]);
  t.same(config.daemon, {
    at: { line: 12, column: 13 },
    uid: 'socketbox',
    gid: 100,
    groups: [1, 'adm'],
    idsAt: { uid: { line: 12, column: 21 }, gid: { line: 12, column: 41 }, groups: [{ line: 12, column: 57 }, { line: 12, column: 60 }] },
    chroot: '/var/empty',
    apiConnectionsPerUid: 7,
  });
  t.equal(config.finalNetns, '/run/netns/inner');

  t.same([...config.sets.keys()], ['web', '_start', 'plain'], 'sets keep the order written');
  const web = config.sets.get('web')!;
  t.equal(web.kind, 'map');
  if (web.kind === 'map') {
    t.equal(hex(web.mask), 'f'.repeat(16) + '0'.repeat(48) + 'ffff' + '0000');
    t.equal(web.listenerMasked, true);
    t.same(web.at, { line: 15, column: 5 });
    t.same(web.entries.map((e) => e.listener), [2, null]);
    t.same(web.entries[0].action, { kind: 'slot', slot: 1, at: { line: 16, column: 91 } });
  }
  const start = config.sets.get('_start')!;
  t.equal(start.kind, 'rule');
  const [cidr4, masks, ports, jumpBack] = start.entries;
  t.same(cidr4.at, { line: 18, column: 7 });
  // IPv4 CIDR: the mapped prefix plus 8 IPv4 bits; the pattern is masked.
  t.equal(hex(cidr4.mask.subarray(0, 16)), 'f'.repeat(26) + '000000');
  t.equal(hex(cidr4.pattern.subarray(0, 16)), '00000000000000000000ffff0a000000');
  t.equal(hex(cidr4.mask.subarray(16, 32)), 'ffff' + '0'.repeat(28), 'remote mask written as an address');
  t.equal(hex(cidr4.pattern.subarray(16, 32)), '2001' + '0'.repeat(28));
  t.equal(hex(cidr4.mask.subarray(32)), '00000000');
  t.same(cidr4.action, { kind: 'jump', set: 'web', at: { line: 18, column: 80 } });
  t.equal(hex(masks.mask.subarray(0, 16)), 'ffff' + '0'.repeat(20) + 'ff0000ff');
  t.equal(hex(masks.pattern.subarray(0, 16)), '2001' + '0'.repeat(20) + '00000002');
  // An IPv4 mask is taken as a mapped address too, like every IPv4 text.
  t.equal(hex(masks.mask.subarray(16, 32)), '00000000000000000000ffffffffff00');
  t.equal(hex(masks.pattern.subarray(16, 32)), '00000000000000000000ffff01020300');
  t.equal(hex(ports.pattern.subarray(32)), '0016ffff');
  t.equal(hex(ports.mask.subarray(32)), 'ffffffff');
  t.equal(hex(ports.mask.subarray(0, 16)), 'fe' + '0'.repeat(30));
  t.equal(hex(ports.pattern.subarray(0, 16)), 'fc' + '0'.repeat(30));
  t.equal(ports.listener, 3);
  t.equal(hex(jumpBack.mask), '0'.repeat(72));
  t.same(jumpBack.action, { kind: 'jump', set: '_start', at: { line: 21, column: 16 } });
  const plainMap = config.sets.get('plain')!;
  if (plainMap.kind === 'map') {
    t.equal(hex(plainMap.mask), 'f'.repeat(32) + '0'.repeat(32) + 'ffff0000', 'default map mask: local address and port');
    t.equal(plainMap.listenerMasked, false);
  }
});

t.test('an id written as a string of digits is that number', async (t) => {
  const config = parse(
    sections({ paths: '[{"socket": "/a", "uid": "1000", "gid": "0"}]', outgoing: '[{"uid": "65534", "path_nr": 0}]', extra: '"daemon": {"uid": "4", "groups": ["7"]}' }),
  );
  t.same([config.paths[0].uid, config.paths[0].gid], [1000, 0], 'paths uid and gid');
  t.equal(config.outgoing[0].uid, 65534, 'a slot uid');
  t.same([config.daemon.uid, config.daemon.groups], [4, [7]], 'daemon ids');
});

t.test('defaults and the shipped example', async (t) => {
  const minimal = parse(sections({ paths: '[]', outgoing: '[]', rules: '{"_start": {"type": "rule", "rules": []}}' }));
  t.same(minimal.daemon, { at: null, uid: null, gid: null, groups: null, idsAt: { uid: null, gid: null, groups: [] }, chroot: null, apiConnectionsPerUid: 5 });
  t.equal(minimal.finalNetns, null);
  t.same(minimal.paths, []);
  const noOptional = parse('{"socketbox-version": 1, "incoming": [{"fd": 0}], "rules": {"_start": {"type": "map", "rules": []}}}');
  t.same([noOptional.paths.length, noOptional.outgoing.length], [0, 0]);

  const example = parseJsonConfig(readFileSync(join(__dirname, '..', 'examples', 'socketbox.json'), 'utf8'), 'examples/socketbox.json');
  t.equal(example.incoming.length, 1);
  t.same(example.incoming[0].kind === 'bind' && example.incoming[0].port, 8080);
  t.same(example.paths.map((p) => [p.socket, p.mode]), [['/run/socketbox/api.sock', 0o660]]);
  t.equal(example.outgoing.length, 2);
  const sites = example.sets.get('sites')!;
  t.equal(sites.kind, 'map');
  t.ok(example.sets.get('_start')!.entries.some((e) => e.action.kind === 'jump' && e.action.set === 'sites'));
  t.equal(serverAddon().tableValidate(compileJsonTable(example).bytes), null, 'the example compiles to a valid table');
});

t.test('bad inputs: the exact position and reason', async (t) => {
  // [text, line, column or the text the column points at (its first occurrence on that line), reason]
  const cases: Array<[string, number, number | string, string]> = [
    // JSON syntax
    ['', 1, 1, 'unexpected end of input; expected a JSON value'],
    ['  \n ', 2, 2, 'unexpected end of input; expected a JSON value'],
    ['{"a": 1,}', 1, 9, "trailing comma before '}'"],
    ['[1, 2,]', 1, 7, "trailing comma before ']'"],
    ['[1, 2', 1, 6, "unexpected end of input; expected ',' or ']'"],
    ['{"a" 1}', 1, 6, "unexpected '1'; expected ':' after the key"],
    ["{'a': 1}", 1, 2, "unexpected '''; expected a key in double quotes"],
    ['{"a": 1} x', 1, 10, 'unexpected text after the JSON value'],
    ['{"a": 1}{}', 1, 9, 'unexpected text after the JSON value'],
    ['{\n  "a": "x\ty"}', 2, 10, 'control character U+0009 in a string; write it as an escape'],
    ['{"a": "x', 1, 7, 'unterminated string'],
    ['{"a": "\\q"}', 1, 8, "invalid escape '\\q'"],
    ['{"a": "\\u12"}', 1, 8, 'invalid \\u escape: it needs four hex digits'],
    ['{"a": "\\ud800x"}', 1, 8, 'unpaired surrogate escape'],
    ['{"a": "\\udc00"}', 1, 8, 'unpaired surrogate escape'],
    ['{"a": "\ud800"}', 1, 8, 'unpaired surrogate in a string'],
    ['{"a": 01}', 1, 7, "invalid number '01'"],
    ['{"a": 1.}', 1, 7, "invalid number '1.'"],
    ['{"a": -}', 1, 7, "invalid number '-'"],
    ['{"a": NaN}', 1, 7, "unknown word 'NaN'; JSON has only true, false and null (strings need double quotes)"],
    ['{"a": True}', 1, 7, "unknown word 'True'; JSON has only true, false and null (strings need double quotes)"],
    ['{"a": 1, "a": 2}', 1, 10, "duplicate key 'a' (first at line 1, column 2)"],
    ['{"\u{1F600}": 1, "\u{1F600}": x}', 1, 10, "duplicate key '\u{1F600}' (first at line 1, column 2)"],
    ['{"\u{1F600}": x}', 1, 7, "unknown word 'x'; JSON has only true, false and null (strings need double quotes)"],
    ['{"\u{1F600}": #}', 1, 7, "unexpected '#'; expected a JSON value"],
    ['{"a": /* c */ 1}', 1, 7, "unexpected '/'; expected a JSON value"],
    ['{"a": \u0001}', 1, 7, 'unexpected U+0001; expected a JSON value'],
    ['['.repeat(100), 1, 65, 'nested deeper than 64 levels'],
    // the top level
    ['[]', 1, 1, 'a JSON config must be an object, not an array'],
    ['"x"', 1, 1, 'a JSON config must be an object, not a string'],
    ['{"incoming": []}', 1, 1, "missing key 'socketbox-version' in the top-level object"],
    ['{"socketbox-version": "1"}', 1, 23, "socketbox-version must be 1, not the string '1'"],
    ['{"socketbox-version": 2}', 1, 23, "socketbox-version must be 1, not '2'"],
    ['{"socketbox-version": 1.0}', 1, 23, "socketbox-version must be 1, not '1.0'"],
    ['{"socketbox-version": 1}', 1, 1, "missing key 'incoming' in the top-level object"],
    [sections({ extra: '"foo": 1' }), 7, '"foo"', "unknown key 'foo' in the top-level object"],
    [sections({ extra: '"Rules": {}' }), 7, '"Rules"', "unknown key 'Rules' in the top-level object"],
    ['{"socketbox-version": 1, "incoming": [{"fd": 3}]}', 1, 1, "missing key 'rules' in the top-level object"],
    // incoming
    [sections({ incoming: '{}' }), 3, '{', 'incoming must be an array, not an object'],
    [sections({ incoming: '[]' }), 3, '[', 'incoming must list at least one listener'],
    [sections({ incoming: '[5]' }), 3, '5', 'incoming[0] must be an object, not a number'],
    [sections({ incoming: '[{"address": "::", "port": 8080, "foo": 1}]' }), 3, '"foo"', "unknown key 'foo' in incoming[0]"],
    [sections({ incoming: '[{"address": "::"}]' }), 3, '{', "missing key 'port' in incoming[0]"],
    [sections({ incoming: '[{"port": 1}]' }), 3, '{', "missing key 'address' in incoming[0]"],
    [sections({ incoming: '[{"address": "::", "port": 70000}]' }), 3, '70000', "incoming[0].port must be 0..65535, not '70000'"],
    [sections({ incoming: '[{"address": "::", "port": "x80"}]' }), 3, '"x80"', "incoming[0].port must be a port number 0..65535, not the string 'x80'"],
    [sections({ incoming: '[{"address": "::", "port": "65536"}]' }), 3, '"65536"', "incoming[0].port must be 0..65535, not '65536'"],
    [sections({ incoming: '[{"address": "::", "port": 80.5}]' }), 3, '80.5', "incoming[0].port must be an integer, not '80.5'"],
    [sections({ incoming: '[{"address": "1.2.3", "port": 1}]' }), 3, '"1.2.3"', "incoming[0].address: the string '1.2.3' is not an IPv6 or IPv4 address"],
    [sections({ incoming: '[{"address": 1, "port": 1}]' }), 3, '1,', "incoming[0].address must be a string, not '1'"],
    [sections({ incoming: '[{"fd": 3}, {"fd": 3, "port": 80}]' }), 3, '"port"', "'port' does not go with 'fd' in incoming[1]: a listener is either inherited or bound"],
    [sections({ incoming: '[{"address": "::", "port": 1, "listen": true}]' }), 3, '"listen"', "'listen' is only for inherited listeners ('fd') in incoming[0]"],
    [sections({ incoming: '[{"fd": -1}]' }), 3, '-1', "incoming[0].fd must be 0..2147483647, not '-1'"],
    [sections({ incoming: '[{"fd": 3.0}]' }), 3, '3.0', "incoming[0].fd must be an integer, not '3.0'"],
    [sections({ incoming: '[{"fd": 1e1}]' }), 3, '1e1', "incoming[0].fd must be an integer, not '1e1'"],
    [sections({ incoming: '[{"fd": 3, "listen": 1}]' }), 3, '1}', "incoming[0].listen must be true or false, not '1'"],
    [sections({ incoming: '[{"fd": 3, "backlog": 0}]' }), 3, '0}', "incoming[0].backlog must be 1..65535, not '0'"],
    [sections({ incoming: '[{"address": "::", "port": 1, "reuseaddr": null}]' }), 3, 'null', 'incoming[0].reuseaddr must be true or false, not null'],
    [sections({ incoming: '[{"address": "::", "port": 1, "netns": ""}]' }), 3, '""', 'incoming[0].netns must not be empty'],
    // paths
    [sections({ paths: '{}' }), 4, '{', 'paths must be an array, not an object'],
    [sections({ paths: '[{"mode": "700"}]' }), 4, '{', "missing key 'socket' in paths[0]"],
    [sections({ paths: '[{"socket": ""}]' }), 4, '""', 'paths[0].socket: the UNIX socket path is empty'],
    [sections({ paths: `[{"socket": "/${'p'.repeat(107)}"}]` }), 4, '"/', 'paths[0].socket: UNIX socket path is 108 bytes; the limit is 107'],
    [sections({ paths: '[{"socket": "/a\\u0000b"}]' }), 4, '"/a', 'paths[0].socket: the UNIX socket path contains a NUL byte'],
    [sections({ paths: '[{"socket": "@"}]' }), 4, '"@"', "paths[0].socket: the abstract socket name after '@' is empty"],
    [sections({ paths: '[{"socket": "/a", "mode": "0999"}]' }), 4, '"0999"', `paths[0].mode must be octal digits like "0660", not '0999'`],
    [sections({ paths: '[{"socket": "/a", "mode": ""}]' }), 4, '""', `paths[0].mode must be octal digits like "0660", not ''`],
    [sections({ paths: '[{"socket": "/a", "mode": 660}]' }), 4, '660', "paths[0].mode must be a string, not '660'"],
    [sections({ paths: '[{"socket": "/a", "mode": "17777"}]' }), 4, '"17777"', `paths[0].mode must be at most "7777", not '17777'`],
    [sections({ paths: '[{"socket": "/a", "uid": -2}]' }), 4, '-2', "paths[0].uid must be -1..4294967294, not '-2'"],
    [sections({ paths: '[{"socket": "/a", "gid": true}]' }), 4, 'true', 'paths[0].gid must be a number or a name, not a boolean'],
    [sections({ paths: '[{"socket": "/a", "uid": ""}]' }), 4, '""', 'paths[0].uid must not be an empty name'],
    // An id in a string of digits is a number: range-checked like one (it used to pass as a "name").
    [sections({ paths: '[{"socket": "/a", "uid": "4294967296"}]' }), 4, '"4294967296"', "paths[0].uid must be -1..4294967294, not '4294967296'"],
    [sections({ paths: '[{"socket": "/a", "gid": "-2"}]' }), 4, '"-2"', "paths[0].gid must be -1..4294967294, not '-2'"],
    [sections({ paths: '[{"socket": "/a", "owner": 1}]' }), 4, '"owner"', "unknown key 'owner' in paths[0]"],
    // outgoing
    [sections({ outgoing: '[{"uid": 1000, "path_nr": 1}]' }), 5, '1}', 'outgoing[0].path_nr is 1, but paths has 1 (0..0)'],
    [sections({ paths: '[]', outgoing: '[{"uid": 1000, "path_nr": 0}]' }), 5, '0}', 'outgoing[0].path_nr is 0, but there are no paths'],
    [sections({ outgoing: '[{"path_nr": 0}]' }), 5, '{', "missing key 'uid' in outgoing[0]"],
    [sections({ outgoing: '[{"uid": 1}]' }), 5, '{', "missing key 'path_nr' in outgoing[0]"],
    [sections({ outgoing: '[{"uid": -1, "path_nr": 0}]' }), 5, '-1', "outgoing[0].uid must be 0..4294967294, not '-1'"],
    [sections({ outgoing: '[{"uid": "99999999999999999999", "path_nr": 0}]' }), 5, '"9999', "outgoing[0].uid must be 0..4294967294, not '99999999999999999999'"],
    [sections({ outgoing: '[{"uid": 1, "path_nr": "0"}]' }), 5, '"0"', "outgoing[0].path_nr must be an integer, not the string '0'"],
    // daemon and final_netns
    [sections({ extra: '"daemon": []' }), 7, '[', 'daemon must be an object, not an array'],
    [sections({ extra: '"daemon": {"user": 1}' }), 7, '"user"', "unknown key 'user' in daemon"],
    [sections({ extra: '"daemon": {"api_connections_per_uid": 0}' }), 7, '0}', "daemon.api_connections_per_uid must be 1..1000, not '0'"],
    [sections({ extra: '"daemon": {"groups": [1, null]}' }), 7, 'null', 'daemon.groups[1] must be a number or a name, not null'],
    [sections({ extra: '"daemon": {"uid": 4294967295}' }), 7, '4294967295', "daemon.uid must be 0..4294967294, not '4294967295'"],
    [sections({ extra: '"daemon": {"uid": "4294967296"}' }), 7, '"4294967296"', "daemon.uid must be 0..4294967294, not '4294967296'"],
    [sections({ extra: '"daemon": {"gid": "-1"}' }), 7, '"-1"', "daemon.gid must be 0..4294967294, not '-1'"],
    [sections({ extra: '"daemon": {"groups": ["+1", "4294967296"]}' }), 7, '"4294967296"', "daemon.groups[1] must be 0..4294967294, not '4294967296'"],
    [sections({ extra: '"daemon": {"groups": "adm"}' }), 7, '"adm"', 'daemon.groups must be an array, not a string'],
    [sections({ extra: '"daemon": {"chroot": 5}' }), 7, '5', "daemon.chroot must be a string, not '5'"],
    [sections({ extra: '"final_netns": ""' }), 7, '""', 'final_netns must not be empty'],
    // rules: sets
    [sections({ rules: '[]' }), 6, '[', 'rules must be an object, not an array'],
    [sections({ rules: '{}' }), 6, '{', "rules has no '_start' set; every lookup starts there"],
    [sections({ rules: '{"start": {"type": "rule", "rules": []}}' }), 6, '{', "rules has no '_start' set; every lookup starts there"],
    [sections({ rules: '{"": {"type": "rule", "rules": []}, "_start": 1}' }), 6, '""', 'a set name must not be empty'],
    [sections({ rules: '{"_start": 1}' }), 6, '1', 'rules._start must be an object, not a number'],
    [sections({ rules: '{"_start": {"rules": []}}' }), 6, '{"rules"', "missing key 'type' in rules._start"],
    [sections({ rules: '{"_start": {"type": "rule"}}' }), 6, '{"type"', "missing key 'rules' in rules._start"],
    [sections({ rules: '{"_start": {"type": "list", "rules": []}}' }), 6, '"list"', `rules._start.type must be "rule" or "map", not 'list'`],
    [sections({ rules: '{"_start": {"type": "rule", "mask": {}, "rules": []}}' }), 6, '"mask"', "'mask' is only for maps; rules._start is a rule set"],
    [sections({ rules: '{"_start": {"type": "rule", "rules": [], "default": "o:0"}}' }), 6, '"default"', "unknown key 'default' in rules._start"],
    [sections({ rules: '{"_start": {"type": "rule", "rules": []}, "a b": {"type": "rule", "rules": 5}}' }), 6, '5', 'rules["a b"].rules must be an array, not a number'],
    [sections({ rules: '{"_start": {"type": "map", "mask": {"jump": "o:0"}, "rules": []}}' }), 6, '"jump"', "unknown key 'jump' in rules._start.mask"],
    [sections({ rules: '{"_start": {"type": "map", "mask": {"r_mask": "::"}, "rules": []}}' }), 6, '"r_mask"', 'r_mask without r_ip in rules._start.mask'],
    // rules: entries
    [sections({ rules: entryRules('{"jump": "o:1"}') }), 6, '"o:1"', 'rules._start.rules[0].jump: there is no slot 1; outgoing has 1 (0..0)'],
    [sections({ outgoing: '[]', rules: entryRules('{"jump": "o:0"}') }), 6, '"o:0"', 'rules._start.rules[0].jump: there is no slot 0; outgoing has no slots'],
    [sections({ rules: entryRules('{"jump": "r:nope"}') }), 6, '"r:nope"', "rules._start.rules[0].jump: there is no set named 'nope'"],
    [sections({ rules: entryRules('{"jump": "r:"}') }), 6, '"r:"', "rules._start.rules[0].jump: there is no set named ''"],
    [sections({ rules: entryRules('{"jump": "x:1"}') }), 6, '"x:1"', `rules._start.rules[0].jump must be "r:SET" or "o:SLOT", not 'x:1'`],
    [sections({ rules: entryRules('{"jump": "o:-1"}') }), 6, '"o:-1"', "rules._start.rules[0].jump: 'o:' must be followed by a slot number, not '-1'"],
    [sections({ rules: entryRules('{"jump": 0}') }), 6, '0}', "rules._start.rules[0].jump must be a string, not '0'"],
    [sections({ rules: entryRules('{"l_port": 1}') }), 6, '{"l_port"', "missing key 'jump' in rules._start.rules[0]"],
    [sections({ rules: entryRules('{"jump": "o:0"}, {"lip": "::1", "jump": "o:0"}') }), 6, '"lip"', "unknown key 'lip' in rules._start.rules[1]"],
    [sections({ rules: entryRules('{"l_mask": "ffff::", "jump": "o:0"}') }), 6, '"l_mask"', 'l_mask without l_ip in rules._start.rules[0]'],
    [
      sections({ rules: entryRules('{"l_ip": "::/64", "l_mask": "ffff::", "jump": "o:0"}') }),
      6,
      '"::/64"',
      'rules._start.rules[0].l_ip has a prefix length and l_mask is given too; use one of them',
    ],
    [sections({ rules: entryRules('{"r_ip": "10.0.0.0/33", "jump": "o:0"}') }), 6, '"10.0.0.0/33"', "rules._start.rules[0].r_ip: the prefix length must be 0..32 for IPv4, not '33'"],
    [sections({ rules: entryRules('{"r_ip": "::/129", "jump": "o:0"}') }), 6, '"::/129"', "rules._start.rules[0].r_ip: the prefix length must be 0..128, not '129'"],
    [sections({ rules: entryRules('{"r_ip": "::/ffff::", "jump": "o:0"}') }), 6, '"::/ffff::"', "rules._start.rules[0].r_ip: the prefix length must be 0..128, not 'ffff::'"],
    [sections({ rules: entryRules('{"r_ip": "::/", "jump": "o:0"}') }), 6, '"::/"', "rules._start.rules[0].r_ip: the prefix length must be 0..128, not ''"],
    [sections({ rules: entryRules('{"l_ip": "fe80::1%eth0", "jump": "o:0"}') }), 6, '"fe80', "rules._start.rules[0].l_ip: 'fe80::1%eth0' is not an IPv6 or IPv4 address"],
    [sections({ rules: entryRules('{"l_ip": "::1", "l_mask": "/64", "jump": "o:0"}') }), 6, '"/64"', "rules._start.rules[0].l_mask: '/64' is not an IPv6 or IPv4 address"],
    [sections({ rules: entryRules('{"l_port": "65536", "jump": "o:0"}') }), 6, '"65536"', "rules._start.rules[0].l_port must be 0..65535, not '65536'"],
    [sections({ rules: entryRules('{"r_port": -1, "jump": "o:0"}') }), 6, '-1', "rules._start.rules[0].r_port must be 0..65535, not '-1'"],
    [sections({ rules: entryRules('{"incoming_socket": -1, "jump": "o:0"}') }), 6, '-1', "rules._start.rules[0].incoming_socket must be 0..2147483647, not '-1'"],
    [sections({ rules: entryRules('{"incoming_socket": "0", "jump": "o:0"}') }), 6, '"0"', "rules._start.rules[0].incoming_socket must be an integer, not the string '0'"],
    [sections({ rules: entryRules('7') }), 6, '7', 'rules._start.rules[0] must be an object, not a number'],
    [
      sections({
        rules: '{"_start": {"type": "map", "rules": [{"l_ip": "::1", "l_port": 80, "jump": "o:0"}, {"l_ip": "::1", "l_port": 80, "r_port": 9, "jump": "o:0"}]}}',
      }),
      6,
      '{"l_ip": "::1", "l_port": 80, "r_port"',
      "rules._start.rules[1] has the same key under the map's mask as rules[0] (line 6)",
    ],
    [
      sections({
        rules: '{"_start": {"type": "map", "mask": {"incoming_socket": 0}, "rules": [{"jump": "o:0"}, {"incoming_socket": 0, "jump": "o:0"}]}}',
      }),
      6,
      '{"incoming_socket": 0, "jump"',
      "rules._start.rules[1] has the same key under the map's mask as rules[0] (line 6)",
    ],
  ];
  for (const [text, line, where, reason] of cases) {
    let column = where;
    if (typeof where === 'string') {
      const lineText = text.split('\n')[line - 1];
      const index = lineText.indexOf(where);
      t.ok(index >= 0, `test case: '${where}' is on line ${line}`);
      column = Array.from(lineText.slice(0, index)).length + 1;
    }
    const error = configError(text);
    t.equal(error.message, `${FILE}:${line}:${column}: ${reason}`, JSON.stringify(text.length > 120 ? text.slice(0, 120) : text));
  }
});

t.test('limits of the compiled table are checked when parsing', async (t) => {
  const manySets = (n: number, byListener: boolean) => {
    const sets = [`"_start": {"type": "rule", "rules": [{${byListener ? '"incoming_socket": 1, ' : ''}"jump": "o:0"}]}`];
    for (let i = 1; i < n; i++) sets.push(`"s${i}": {"type": "rule", "rules": []}`);
    return sections({ incoming: '[{"fd": 3}, {"fd": 4}]', rules: `{${sets.join(', ')}}` });
  };
  t.ok(parse(manySets(2000, false)));
  t.ok(parse(manySets(1000, true)));
  t.equal(configError(manySets(2001, false)).message.replace(/:\d+: /, ': '), `${FILE}:6: too many sets: rules may hold at most 2000`);
  t.equal(
    configError(manySets(1001, true)).message,
    `${FILE}:6:12: 2002 sets to compile (incoming_socket is used, so each of the 2 listeners gets its own copy); the limit is 2000`,
  );
  const slots = `[${new Array(65537).fill('{"uid": 0, "path_nr": 0}').join(',')}]`;
  t.match(configError(sections({ outgoing: slots })).message, /^test\.json:5:\d+: too many slots: outgoing may hold at most 65536$/);
});

t.test('the --check summary', async (t) => {
  const config = parse(
    sections({
      incoming: '[{"address": "::", "port": 8080, "reuseport": true}, {"fd": 3, "listen": true}]',
      paths: '[{"socket": "/run/a.sock", "mode": "0660", "gid": "www"}, {"socket": "@spare"}]',
      outgoing: '[{"uid": 1000, "path_nr": 0}, {"uid": "bob", "path_nr": 0}]',
      rules:
        '{"_start": {"type": "rule", "rules": [{"incoming_socket": 1, "jump": "r:m"}, {"jump": "o:0"}, {"l_port": 1, "jump": "o:0"}]}, ' +
        '"m": {"type": "map", "mask": {"l_ip": "::/64", "r_port": 0}, "rules": [{"incoming_socket": 4, "jump": "o:0"}]}, "lost": {"type": "rule", "rules": []}}',
    }),
  );
  const summary = formatJsonCheckSummary(config);
  t.equal(
    summary,
    [
      'test.json: OK (JSON config, socketbox-version 1)',
      'listeners:',
      '  0  [::]:8080  backlog 4096, reuseport',
      '  1  fd 3  listen, backlog 4096',
      'registration sockets:',
      '  0  /run/a.sock  mode 0660  uid unchanged  gid www',
      '  1  @spare  mode 0700  uid unchanged  gid unchanged',
      'slots:',
      '  0  uid 1000  on paths[0]  used by 3 entries',
      '  1  uid bob  on paths[0]  used by 0 entries',
      'daemon: uid unchanged, gid unchanged, groups unchanged, chroot none, final netns none, 5 API connections per uid',
      'sets: 3 sets, 4 entries, decided per listener (incoming_socket)',
      '  _start  rule  line 6  3 entries',
      '  m       map   line 6  1 entry  mask: local /64, remote port',
      '  lost    rule  line 6  0 entries',
      'warnings:',
      '  line 6: never matches; line 6 before it matches everything',
      '  line 6: incoming_socket is ignored: the mask of map \'m\' does not name it',
      "  line 6: set 'lost' is never reached from _start",
      '  slot 1 is never used by a rule',
      '  paths[1] (@spare) is used by no slot',
      '',
    ].join('\n'),
  );
});

// ---- fuzz: mutations of valid configs ----

const VALID_BASES = [
  sections({}),
  readFileSync(join(__dirname, '..', 'examples', 'socketbox.json'), 'utf8'),
  sections({
    incoming: '[{"fd": 3, "listen": true}, {"address": "10.1.2.3", "port": "80", "netns": "/run/netns/x"}]',
    paths: '[{"socket": "@api", "mode": "0660", "uid": "root", "gid": 0}]',
    outgoing: '[{"uid": 0, "path_nr": 0}, {"uid": "www", "path_nr": 0}, {"uid": 7, "path_nr": 0}]',
    rules:
      '{"_start": {"type": "rule", "rules": [{"l_ip": "2001:db8::/32", "r_port": 443, "jump": "r:m"}, {"incoming_socket": 1, "r_ip": "::ffff:10.0.0.0", "r_mask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00", "jump": "o:2"}, {"jump": "r:v4"}]},' +
      ' "m": {"type": "map", "mask": {"l_ip": "::", "l_mask": "ffff:ffff:ffff:ffff::", "incoming_socket": 0}, "rules": [{"l_ip": "2001:db8:1::", "jump": "o:0"}, {"l_ip": "2001:db8:2::", "incoming_socket": 1, "jump": "o:1"}]},' +
      ' "v4": {"type": "map", "rules": [{"l_ip": "127.0.0.1", "l_port": 8080, "jump": "o:1"}, {"l_ip": "::1", "l_port": "8080", "jump": "r:_start"}]}}',
    extra: '"daemon": {"uid": 1000, "gid": "users", "groups": [4, "adm"], "chroot": "/srv", "api_connections_per_uid": 3}, "final_netns": "/run/netns/y"',
  }),
];

/** Text fragments that are likely to change meaning rather than just break the syntax. */
const FRAGMENTS = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '\r', '\t', '0', '-1', '1e9', '65536', 'null', 'true', '"o:0"', '"r:m"',
  '"_start"', '"l_ip"', '"incoming_socket": 1, ', '"::"', '"::/0"', '"10.0.0.0/8"', '\u{1F600}', '\u00e9', '\uFEFF', '\\u0000', '\\ud800'];

type Mutation = { kind: 'delete' | 'insert' | 'duplicate' | 'replace'; at: number; length: number; fragment: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'duplicate', 'replace'),
  at: fc.nat(),
  length: fc.integer({ min: 1, max: 12 }),
  fragment: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4, unit: 'binary' })),
});

function mutate(text: string, mutations: Mutation[]): string {
  for (const m of mutations) {
    const at = m.at % (text.length + 1);
    const end = Math.min(text.length, at + m.length);
    if (m.kind === 'delete') text = text.slice(0, at) + text.slice(end);
    else if (m.kind === 'insert') text = text.slice(0, at) + m.fragment + text.slice(at);
    else if (m.kind === 'duplicate') text = text.slice(0, end) + text.slice(at, end) + text.slice(end);
    else text = text.slice(0, at) + m.fragment + text.slice(end);
  }
  return text;
}

/** Why a ConfigError is malformed for text, or null: it must point into the text (or just past a line's end). */
function positionProblem(text: string, error: ConfigError): string | null {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  if (!Number.isInteger(error.line) || error.line < 1 || error.line > lines.length) return `line ${error.line} outside 1..${lines.length}`;
  const length = Array.from(lines[error.line - 1]).length;
  if (!Number.isInteger(error.column) || error.column < 1 || error.column > length + 1) return `column ${error.column} outside 1..${length + 1}`;
  if (error.reason.length === 0) return 'empty reason';
  if (error.message !== `${FILE}:${error.line}:${error.column}: ${error.reason}`) return `message is not file:line:column: reason: ${error.message}`;
  return null;
}

t.test('fuzz: mutated valid configs parse or throw a positioned ConfigError, nothing else', async (t) => {
  for (const base of VALID_BASES) t.ok(parse(base), 'every base is valid');
  let parsed = 0;
  let runs = 0;
  fc.assert(
    fc.property(fc.constantFrom(...VALID_BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, mutations) => {
      const text = mutate(base, mutations);
      runs++;
      let config: JsonConfig;
      try {
        config = parse(text);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        const problem = positionProblem(text, error);
        if (problem !== null) throw new Error(problem, { cause: error });
        return;
      }
      parsed++;
      const reason = serverAddon().tableValidate(compileJsonTable(config).bytes);
      if (reason !== null) throw new Error(`parsed, but the native loader rejects the table: ${reason}`);
    }),
    { seed: FC_SEED, numRuns: 20_000 },
  );
  t.ok(parsed > 200, `${parsed} of ${runs} mutated configs still parsed (and compiled to a valid table)`);
});
