// Serves stored media at /media/<job id>/<file>, with the right content type,
// ETag and Last-Modified, conditional GET and HTTP Range (so a browser can
// seek in a video), through `send`, the file sender behind Express.

import type { IncomingMessage, ServerResponse } from 'node:http';
import send from 'send';
import { assertValidKey, type MediaStore } from '../media/store.js';

export function serveMedia(req: IncomingMessage, res: ServerResponse, store: MediaStore): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  let key: string;
  try {
    key = decodeURIComponent(pathname.slice('/media/'.length));
    assertValidKey(key);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  send(req, store.pathOf(key), { dotfiles: 'deny', index: false, maxAge: '1h', immutable: true })
    .on('error', (error: { status?: number }) => {
      const status = error.status ?? 500;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 404 ? 'not found' : 'error');
    })
    .pipe(res);
}
