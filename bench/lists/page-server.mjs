// The lists benchmark's baseline: bench/tools/baseline-server.mjs with threatwire's own
// schema (the file named by the second argument), answering `threatEvents` with a page
// held in memory — the answer threatwire gave to the same query, read from the JSON file
// named by the first argument. Plain JavaScript run by node itself, as the compiled
// threatwire server is.
import { readFileSync } from 'node:fs';
import { serveBaseline } from '../tools/baseline-server.mjs';

const [pageFile, schemaFile] = process.argv.slice(2);
const page = JSON.parse(readFileSync(pageFile, 'utf8'));
await serveBaseline({
  typeDefs: readFileSync(schemaFile, 'utf8'),
  resolvers: { Query: { threatEvents: () => page } },
});
