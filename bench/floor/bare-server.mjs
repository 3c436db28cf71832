// The floor benchmark's baseline: bench/tools/baseline-server.mjs serving a one-field
// schema. Plain JavaScript run by node itself, as the compiled threatwire server is (no
// tsx hooks).
import { serveBaseline } from '../tools/baseline-server.mjs';

await serveBaseline({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } } });
