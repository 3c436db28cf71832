import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { parse, type GraphQLSchema } from 'graphql';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import type { SubscriptionFanout } from '../../src/server/ws-fanout.js';
import { groupPlan, type GroupPlan } from '../../src/server/ws-resume.js';
import { createWsTransport, type FrameOutput } from '../../src/server/ws-transport.js';

/**
 * A real graphql-ws server on loopback with `fanout` wired in as ws-server.ts wires it:
 * each subscribe is planned by groupPlan under the role its connection names
 * (`connectionParams.role`, READER when none), executed with `{ role }` as its context,
 * and resumed or subscribed by the plan. Returns its URL and how to stop it.
 */
export async function startFanoutServer(
  schema: GraphQLSchema,
  fanout: SubscriptionFanout,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const accepted = new WeakMap<object, { plan: GroupPlan; id: string; output: FrameOutput }>();
  const transport = createWsTransport(
    {
      schema,
      onSubscribe: (ctx, id, payload) => {
        const role = (ctx.connectionParams as { role?: string } | undefined)?.role ?? 'READER';
        const contextValue = { role };
        const document = parse(payload.query);
        const plan = groupPlan(role, payload, document);
        accepted.set(contextValue, { plan, id, output: transport.outputOf(ctx.extra.socket)! });
        return { schema, document, variableValues: payload.variables, contextValue };
      },
      subscribe: (args) => {
        const { plan, id, output } = accepted.get(args.contextValue as object)!;
        return plan.live
          ? fanout.resume(plan.key, plan.live, args, id, output)
          : fanout.subscribe(plan.key, args, id, output);
      },
    },
    wss,
    { logger: pino({ level: 'silent' }), isProd: false },
  );
  http.on('upgrade', (req: IncomingMessage, raw: Duplex, head: Buffer) =>
    wss.handleUpgrade(req, raw, head, (ws) => transport.attach(ws, req, raw)),
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`,
    stop: async () => {
      await transport.dispose();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => http.close(r));
    },
  };
}
