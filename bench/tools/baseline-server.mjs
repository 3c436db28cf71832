// Apollo Server on Fastify with nothing else — no key check, rate limit, CORS, logging,
// metrics or query limits — the baseline the floor and lists benchmarks measure threatwire
// against. Cache-control is disabled as threatwire disables it, so the baseline is not
// slowed by a plugin threatwire does not run. Prints "listening <url>" once it accepts
// connections; SIGTERM closes it.
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify from 'fastify';

export async function serveBaseline({ typeDefs, resolvers }) {
  const app = Fastify();
  const apollo = new ApolloServer({
    typeDefs,
    resolvers,
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginCacheControlDisabled(), fastifyApolloDrainPlugin(app)],
  });
  await apollo.start();
  app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler: fastifyApolloHandler(apollo) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${address}/graphql\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}
