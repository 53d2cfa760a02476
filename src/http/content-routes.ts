// `GET /content/<sha256>`: the app packages the server hosts itself (docs/apps.md). The path is the
// package's SHA-256, which the device also gets as the MsiInstallJob `FileHash`
// (https://learn.microsoft.com/en-us/windows/client-management/mdm/enterprisedesktopappmanagement-csp)
// and checks after download. Anything else is 404. Single byte ranges (RFC 9110 §14) are served
// for downloaders that resume (BITS).
import express, { type Request, type Response, type Router } from 'express';
import { CONTENT_PATH } from '../policy/apps/hosting.js';
import type { AppDeps } from '../transport/deps.js';

const HASH_RE = /^[0-9a-f]{64}$/;

function problem(res: Response, status: number, title: string, extra: Record<string, string> = {}): void {
  res
    .status(status)
    .set(extra)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status }));
}

export function contentRoutes(deps: AppDeps): Router {
  const router = express.Router();
  const serve = async (req: Request, res: Response) => {
    const hash = String(req.params.sha256 ?? '').toLowerCase();
    if (!HASH_RE.test(hash)) return problem(res, 404, 'Not Found');
    const content = await deps.storage.apps.getContent(hash);
    if (!content) return problem(res, 404, 'Not Found');
    const etag = `"${hash}"`;
    res.set({
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: etag,
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    const range =
      typeof req.headers.range === 'string' ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range) : null;
    if (req.headers.range !== undefined) {
      const size = content.size;
      let start = range?.[1] ? Number(range[1]) : Number.NaN;
      let end = range?.[2] ? Number(range[2]) : size - 1;
      if (range && !range[1] && range[2]) {
        start = Math.max(0, size - Number(range[2]));
        end = size - 1;
      }
      if (!range || !Number.isSafeInteger(start) || start >= size || end < start) {
        return problem(res, 416, 'Range Not Satisfiable', { 'Content-Range': `bytes */${size}` });
      }
      end = Math.min(end, size - 1);
      res.status(206).set('Content-Range', `bytes ${start}-${end}/${size}`);
      return void res.end(req.method === 'HEAD' ? undefined : content.bytes.subarray(start, end + 1));
    }
    res.set('Content-Length', String(content.size));
    res.status(200).end(req.method === 'HEAD' ? undefined : content.bytes);
  };
  router.get(`${CONTENT_PATH}/:sha256`, (req, res, next) => {
    serve(req, res).catch(next);
  });
  return router;
}
