// conformance.mjs: compares souk's GraphQL validation with the reference
// implementation (graphql-js 16, the October 2021 spec line) on a corpus of
// documents against docs/schema.graphql. For every document both must agree
// on valid or invalid. A document whose first lines carry `# souk: invalid`
// is one souk refuses on purpose (its limits, subscriptions): graphql-js must
// accept it and souk must refuse it. `# expect: valid|invalid` states what the
// author meant, and is checked against graphql-js too.
//
// It also reports which graphql-js rule refuses each invalid document, fails
// when a validation rule is not exercised by any document, and compares the
// answer to GraphiQL's introspection query (what GraphiQL and codegen read)
// with graphql-js's, member by member.
//
//   node conformance.mjs --check <souk-gql-check> [--schema FILE] [--corpus DIR] [-v]
//
// --differential compares any directory of documents (a fuzzer's corpus, say)
// without headers: a refusal by souk alone passes when its message is one of
// souk's limits, and the corpus rules (coverage, size) are not applied.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  getIntrospectionQuery,
  graphqlSync,
  parse,
  specifiedRules,
  validate,
  version,
} from 'graphql';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const verbose = args.includes('-v');
const differential = args.includes('--differential');
const soukLimit =
  /not supported by the schema|aliases; the limit|estimated cost|fields deep|nesting exceeds|bytes long; the limit|too complex to validate/;
const checker = opt('--check');
const schemaPath = resolve(opt('--schema', join(here, '../../docs/schema.graphql')));
const corpusDir = resolve(opt('--corpus', join(here, 'corpus')));
if (!checker) {
  console.error('usage: node conformance.mjs --check <souk-gql-check> [--schema F] [--corpus D] [-v]');
  process.exit(2);
}

const schema = buildSchema(readFileSync(schemaPath, 'utf8'));
const files = readdirSync(corpusDir)
  .filter((f) => differential || f.endsWith('.graphql'))
  .sort();

// Rules that cannot fire against this schema (it has no Subscription type).
const unreachable = new Set(['SingleFieldSubscriptionsRule']);

function reference(text) {
  let doc;
  try {
    doc = parse(text);
  } catch (e) {
    return { valid: false, rules: ['syntax'], messages: [e.message] };
  }
  const errors = validate(schema, doc, specifiedRules);
  const rules = [];
  if (errors.length) {
    for (const rule of specifiedRules) {
      if (validate(schema, doc, [rule]).length) rules.push(rule.name);
    }
  }
  return { valid: errors.length === 0, rules, messages: errors.map((e) => e.message) };
}

function header(text) {
  const head = text.split('\n').filter((l) => l.startsWith('#')).join('\n');
  return {
    soukInvalid: /#\s*souk:\s*invalid/.test(head),
    expect: (head.match(/#\s*expect:\s*(valid|invalid)/) || [])[1],
  };
}

const out = execFileSync(checker, [schemaPath, ...files.map((f) => join(corpusDir, f))], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
const souk = new Map();
for (const line of out.split('\n')) {
  if (!line) continue;
  const [path, verdict, messages] = line.split('\t');
  souk.set(path, { valid: verdict === 'VALID', messages: messages || '' });
}

let failures = 0;
const coverage = new Map(specifiedRules.map((r) => [r.name, 0]));
let validCount = 0;
let soukOnly = 0;
for (const f of files) {
  const path = join(corpusDir, f);
  const text = readFileSync(path, 'utf8');
  const h = differential ? {} : header(text);
  const ref = reference(text);
  const mine = souk.get(path);
  if (differential && mine && !mine.valid && ref.valid && soukLimit.test(mine.messages))
    h.soukInvalid = true;
  for (const r of ref.rules) coverage.set(r, (coverage.get(r) || 0) + 1);
  if (ref.valid) validCount++;
  const problems = [];
  if (!mine) problems.push('no verdict from souk-gql-check');
  else if (h.soukInvalid) {
    soukOnly++;
    if (!ref.valid) problems.push('marked "souk: invalid" but graphql-js refuses it too');
    if (mine.valid) problems.push('souk accepts a document it should refuse');
  } else if (mine.valid !== ref.valid) {
    problems.push(`graphql-js says ${ref.valid ? 'VALID' : 'INVALID'}, souk says ${mine.valid ? 'VALID' : 'INVALID'}`);
  }
  if (h.expect && (h.expect === 'valid') !== ref.valid && !h.soukInvalid)
    problems.push(`expected ${h.expect} by its author, graphql-js says ${ref.valid ? 'valid' : 'invalid'}`);
  if (problems.length) {
    failures++;
    console.log(`DISAGREE ${f}: ${problems.join('; ')}`);
    console.log(`  graphql-js: ${ref.messages.join(' | ') || '(no errors)'}`);
    console.log(`  souk:       ${mine ? mine.messages || '(no errors)' : '-'}`);
  } else if (verbose) {
    console.log(`ok ${f}: ${ref.valid ? 'valid' : 'invalid (' + ref.rules.join(', ') + ')'}${h.soukInvalid ? ' [souk: invalid] ' + mine.messages : ''}`);
  }
}

// ---- introspection, compared with graphql-js ------------------------------------------------
function normalize(result) {
  const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const s = result.data.__schema;
  s.types.sort(byName);
  // @oneOf came after the October 2021 spec; souk does not define it
  s.directives = s.directives.filter((d) => d.name !== 'oneOf').sort(byName);
  return result;
}

function firstDifference(a, b, path) {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null))
    return `${path}: ${JSON.stringify(a)?.slice(0, 200)} vs ${JSON.stringify(b)?.slice(0, 200)}`;
  if (a && typeof a === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

const introspection = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});
const tmp = mkdtempSync(join(tmpdir(), 'souk-gql-'));
try {
  const file = join(tmp, 'introspection.graphql');
  writeFileSync(file, introspection);
  const mineJson = JSON.parse(execFileSync(checker, ['--execute', schemaPath, file], { encoding: 'utf8' }));
  const refJson = JSON.parse(JSON.stringify(graphqlSync({ schema, source: introspection })));
  const diff = firstDifference(normalize(mineJson), normalize(refJson), 'introspection');
  if (diff) {
    failures++;
    console.log(`DISAGREE on the introspection query: souk vs graphql-js at ${diff}`);
  } else {
    console.log(`introspection: souk's answer equals graphql-js's (${refJson.data.__schema.types.length} types)`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const uncovered = [...coverage].filter(([r, n]) => n === 0 && !unreachable.has(r)).map(([r]) => r);
console.log(`graphql-js ${version}; ${files.length} documents: ${validCount} valid, ${files.length - validCount} invalid (${soukOnly} refused by souk's own limits)`);
console.log('invalid documents per rule: ' + [...coverage].map(([r, n]) => `${r.replace(/Rule$/, '')}=${n}`).join(' '));
if (uncovered.length && !differential) {
  console.log(`rules no document exercises: ${uncovered.join(', ')}`);
  failures++;
}
if (files.length < 150 && !differential) {
  console.log(`the corpus has ${files.length} documents; it should have at least 150`);
  failures++;
}
console.log(failures ? `FAILED: ${failures} problem(s)` : 'conformance: souk and graphql-js agree on every document');
process.exit(failures ? 1 : 0);
