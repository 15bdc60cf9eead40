import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../../spec/relay-error.js';
import { loadDashboardFiles, type DashboardFile } from './load-dashboard-files.js';

/** The encodings `Accept-Encoding` allows (those with `q=0` are refused, as RFC 9110 says). */
function acceptedEncodings(header: string | string[] | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of String(header ?? '').split(',')) {
    const [name, ...parameters] = part.trim().toLowerCase().split(';');
    const quality = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.startsWith('q='));
    if (name !== undefined && name !== '' && (quality === undefined || Number(quality.slice(2)) > 0)) accepted.add(name);
  }
  return accepted;
}

/** Brotli when the browser takes it (smallest), else gzip, else the plain bytes. */
function encodingFor(request: FastifyRequest, file: DashboardFile): { name: string; body: Buffer } | undefined {
  const accepted = acceptedEncodings(request.headers['accept-encoding']);
  if (file.brotli !== undefined && accepted.has('br')) return { name: 'br', body: file.brotli };
  if (file.gzip !== undefined && accepted.has('gzip')) return { name: 'gzip', body: file.gzip };
  return undefined;
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: DashboardFile, isPage: boolean): FastifyReply {
  reply.header('content-type', file.contentType);
  // The page is revalidated every time (it names the current hashed assets); hashed assets never change.
  reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : isPage ? 'no-cache' : 'public, max-age=3600');
  reply.header('etag', file.etag);
  reply.header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const encoding = encodingFor(request, file);
  if (encoding === undefined) return reply.send(file.body);
  reply.header('content-encoding', encoding.name);
  return reply.send(encoding.body);
}

/** Segments that could climb out of the folder, on any platform, or smuggle a NUL. */
function isTraversal(path: string): boolean {
  return path.includes('\\') || path.includes('\0') || path.split('/').some((segment) => segment === '..' || segment === '.');
}

/**
 * `GET /dashboard` and `GET /dashboard/*`: the built single-page app. Files come from memory (read
 * on the first request, so a relay that never shows its dashboard never reads them); paths that name
 * no file and look like a page (no extension) get `index.html`, so a reload of `/dashboard/keys`
 * works. Unknown files and unknown `/dashboard/api/*` URLs get 404s rather than the page.
 */
export function serveDashboardFiles(app: FastifyInstance, options: { directory: string }): void {
  let files: Map<string, DashboardFile> | undefined;
  const load = () => (files ??= loadDashboardFiles(options.directory));

  const serve = async (request: FastifyRequest, reply: FastifyReply, path: string) => {
    if (isTraversal(path) || isTraversal(safeDecode(request.url.split('?')[0] ?? ''))) {
      throw new RelayError('The path climbs out of the dashboard.', { status: 400, type: 'invalid_request_error', code: 'invalid_request' });
    }
    const built = load();
    if (built === undefined) {
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built. Run "npm run build" (or "npm run build:web") and restart the relay.\n');
    }
    if (path.startsWith('api/') || path === 'api') {
      throw new RelayError(`Unknown request URL: ${request.method} ${request.url.split('?')[0]}.`, { status: 404, type: 'invalid_request_error', code: 'unknown_url' });
    }
    const page = built.get('index.html') as DashboardFile;
    if (path === '' || path === 'index.html') return sendFile(request, reply, page, true);
    const file = built.get(path);
    if (file !== undefined) return sendFile(request, reply, file, false);
    const lastSegment = path.split('/').pop() ?? '';
    if (lastSegment.includes('.')) {
      return reply.code(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('Not found.\n');
    }
    return sendFile(request, reply, page, true);
  };

  app.get('/dashboard', (request, reply) => serve(request, reply, ''));
  app.get<{ Params: { '*': string } }>('/dashboard/*', (request, reply) => serve(request, reply, request.params['*']));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
