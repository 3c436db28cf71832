import { redactedUrl } from '../../webhooks/webhook-target.js';
import type { DeliveryRecord } from '../../webhooks/webhook-types.js';
import type { Resolvers } from '../generated.js';
import { connectionResolvers, decodeCursor, pageSize } from '../pagination.js';

export const webhookResolvers: Resolvers = {
  Query: {
    webhooks: (_p, _a, { services }) => services.webhooks.list(),
    webhook: (_p, { id }, { services }) => services.webhooks.get(id),
    webhookDeliveries: (_p, { webhookId, first, after }, { services }) =>
      services.webhooks.deliveries(webhookId, pageSize(first), decodeCursor(after, 'uuid')),
  },
  Mutation: {
    createWebhook: (_p, args, { services }) => services.webhooks.create(args),
    updateWebhook: (_p, { id, ...args }, { services }) => services.webhooks.update(id, args),
    deleteWebhook: (_p, { id }, { services }) => services.webhooks.delete(id),
    setWebhookPaused: (_p, { id, paused }, { services }) => services.webhooks.setPaused(id, paused),
    testWebhook: (_p, { id }, { services }) => services.webhooks.test(id),
  },
  Webhook: {
    url: (w, _a, { principal }) => (principal.role === 'ADMIN' ? w.url : redactedUrl(w.url)),
    paused: (w) => w.pausedAt !== null,
  },
  WebhookFilterRules: {
    categories: (f) => f.categories as never,
  },
  WebhookTestResult: {
    ok: (r) => r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300,
  },
  WebhookDeliveryConnection: connectionResolvers((d: DeliveryRecord) => ({ at: d.createdAt, id: d.id })),
};
