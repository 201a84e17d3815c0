// Who is asking, as a stable opaque key: a hash of the caller's own id header,
// else of its credentials, else of its address. Used to keep a caller on one
// experiment variant; never holds a secret in clear.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const CLIENT_ID_HEADER = 'x-client-id';

export function clientKeyOf(req: IncomingMessage | undefined): string {
  const header = (name: string) => {
    const value = req?.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const identity =
    header(CLIENT_ID_HEADER) ?? header('authorization') ?? req?.socket.remoteAddress ?? 'anonymous';
  return createHash('sha256').update(identity).digest('base64url').slice(0, 22);
}
