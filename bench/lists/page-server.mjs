// The lists benchmark's baseline: Apollo Server on Fastify with nothing else (no key
// check, rate limit, CORS, logging, metrics or query limits), with threatwire's own
// schema, answering `threatEvents` with a page held in memory — the answer threatwire
// gave to the same query, read from the JSON file named by the first argument. Plain
// JavaScript run by node itself, as the compiled threatwire server is. Prints
// "listening <url>" once it accepts connections.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify from 'fastify';

const [pageFile, schemaFile] = process.argv.slice(2);
const page = JSON.parse(readFileSync(pageFile, 'utf8'));
const app = Fastify();
const apollo = new ApolloServer({
  typeDefs: readFileSync(schemaFile, 'utf8'),
  resolvers: { Query: { threatEvents: () => page } },
  stopOnTerminationSignals: false,
  plugins: [ApolloServerPluginCacheControlDisabled(), fastifyApolloDrainPlugin(app)],
});
await apollo.start();
app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler: fastifyApolloHandler(apollo) });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${address}/graphql\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
