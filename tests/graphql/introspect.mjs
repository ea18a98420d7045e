// introspect.mjs: what the reference implementation (graphql-js) answers to
// an introspection query on docs/schema.graphql, for tests that compare it
// with the gateway's answer (tests/e2e/test_graphql.py). Types and
// directives are sorted by name, and @oneOf (later than the October 2021
// spec, not defined by souk) is left out, as conformance.mjs does.
//
//   node introspect.mjs [--schema FILE] [--query FILE]
//
// Prints {"query": <the query text>, "result": <graphql-js's result>}; the
// query defaults to GraphiQL's (corpus/introspection-graphiql.graphql).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, graphqlSync } from 'graphql';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const schema = buildSchema(readFileSync(resolve(opt('--schema', join(here, '../../docs/schema.graphql'))), 'utf8'));
const query = readFileSync(resolve(opt('--query', join(here, 'corpus/introspection-graphiql.graphql'))), 'utf8')
  .split('\n')
  .filter((l) => !l.startsWith('#'))
  .join('\n');
const result = graphqlSync({ schema, source: query });
if (result.errors) {
  console.error(JSON.stringify(result.errors));
  process.exit(1);
}
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const s = result.data.__schema;
s.types.sort(byName);
s.directives = s.directives.filter((d) => d.name !== 'oneOf').sort(byName);
console.log(JSON.stringify({ query, result: JSON.parse(JSON.stringify(result)) }));
