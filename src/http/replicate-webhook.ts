// POST /webhooks/replicate: Replicate tells us a prediction changed. The
// delivery is verified (signature through the SDK, timestamp tolerance), a
// replayed delivery id is ignored, and the job is made due so the poller reads
// the prediction at once. The webhook only speeds things up: the poller stays
// the backstop, and nothing in the body is trusted beyond the prediction id.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../db/client.js';
import { recordWebhookDelivery, type JobStore } from '../jobs/job-store.js';
import type { Logger } from '../logger.js';
import { verifyReplicateWebhook } from '../providers/replicate.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ReplicateWebhookDependencies {
  secret: string;
  db: Database;
  jobs: JobStore;
  logger: Logger;
  /** Wakes the poller. */
  onJobDue: () => void;
}

export async function handleReplicateWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  dependencies: ReplicateWebhookDependencies,
): Promise<void> {
  const reply = (status: number, body: Record<string, unknown>) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      reply(413, { error: 'body too large' });
      return;
    }
    chunks.push(chunk);
  }
  const rawBody = Buffer.concat(chunks);
  const verification = await verifyReplicateWebhook({
    headers: req.headers as Record<string, string | string[] | undefined>,
    rawBody,
    secret: dependencies.secret,
  });
  if (!verification.ok) {
    dependencies.logger.warn({ reason: verification.reason }, 'refused a Replicate webhook');
    reply(verification.reason === 'invalid-body' ? 400 : 401, { error: verification.message });
    return;
  }
  const deliveryId = String(req.headers['webhook-id']);
  const first = await recordWebhookDelivery(dependencies.db, {
    provider: 'replicate',
    deliveryId,
    providerJobId: verification.predictionId,
  });
  if (!first) {
    reply(200, { status: 'ignored', reason: 'replayed delivery' });
    return;
  }
  const due = await dependencies.jobs.markDueByProviderJob('replicate', verification.predictionId);
  if (due > 0) dependencies.onJobDue();
  reply(200, { status: 'accepted', jobs: due });
}
