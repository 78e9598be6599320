// Shared by e2e/pwa.spec.ts and e2e/privacy.spec.ts:
// - the Hugging Face Hub, answered inside the browser from the mock Hub (test/mock-hub.ts):
//   requests to https://huggingface.co never leave the machine, and the built app (with its
//   production Content-Security-Policy) is exactly what users get;
// - src/hub bundled for evaluation inside the app's trainer worker, to run the browser paths
//   (OPFS, fetch under the app's CSP) until the UI drives downloads itself;
// - a recording HTTP proxy that sees every connection the browser makes.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page, Worker } from '@playwright/test';
import { build } from 'rolldown';
import type { MockHub } from '../test/mock-hub';

export const HUB_ORIGIN = 'https://huggingface.co';

/** Answers https://huggingface.co/* (and the Hub's CDN hosts) from the mock Hub. */
export async function routeHubToMock(context: BrowserContext, hub: MockHub): Promise<void> {
  const handler = async (route: import('@playwright/test').Route) => {
    const url = new URL(route.request().url());
    const response = await route.fetch({ url: `${hub.url}${url.pathname}${url.search}`, maxRetries: 0 });
    await route.fulfill({ response });
  };
  await context.route(/^https:\/\/([a-z0-9-]+\.)*(huggingface\.co|hf\.co)\//, handler);
}

let bundle: Promise<string> | null = null;

/** src/hub as a script that defines `LoraHub` (its public exports) where it is evaluated. */
export function hubBundle(): Promise<string> {
  bundle ??= build({ input: 'src/hub/index.ts', write: false, output: { format: 'iife', name: 'LoraHub' }, platform: 'browser', logLevel: 'silent' }).then((out) => out.output[0].code);
  return bundle;
}

/** The app's trainer worker (started by the app on load). */
export async function trainerWorker(page: Page): Promise<Worker> {
  const find = () => page.workers().find((w) => w.url().includes('trainer.worker'));
  for (let i = 0; i < 100 && !find(); i++) await page.waitForTimeout(100);
  const w = find();
  if (!w) throw new Error(`the app started no trainer worker (workers: ${page.workers().map((x) => x.url()).join(', ') || 'none'})`);
  return w;
}

/**
 * Runs `body` (JavaScript source of an async function body; `LoraHub` and `arg` in scope)
 * inside the worker, returning its JSON-serialisable result.
 */
export async function runHubInWorker<T>(worker: Worker, body: string, arg: unknown = null): Promise<T> {
  const code = await hubBundle();
  return worker.evaluate(`(async (arg) => { ${code}\n ${body} \n})(${JSON.stringify(arg)})`) as Promise<T>;
}

export interface ProxyRecord {
  method: string;
  /** Absolute URL for HTTP, host:port for CONNECT (HTTPS or WebSocket tunnels). */
  target: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  forwarded: boolean;
}

/**
 * An HTTP proxy for Chromium (--proxy-server, with loopback not bypassed) that records every
 * request and tunnel attempt. Plain HTTP to `allowedHosts` is forwarded; everything else is
 * refused (so nothing can leave even if a test's expectations were wrong).
 */
export async function startRecordingProxy(allowedHosts: string[]): Promise<{ port: number; records: ProxyRecord[]; close(): Promise<void> }> {
  const records: ProxyRecord[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = req.url ?? '';
      let host = '';
      try {
        host = new URL(target).host;
      } catch {
        // not an absolute URL: a direct request to the proxy itself
      }
      const rec: ProxyRecord = { method: req.method ?? '', target, body: Buffer.concat(chunks), headers: req.headers, forwarded: allowedHosts.includes(host) };
      records.push(rec);
      if (!rec.forwarded) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('blocked by the test proxy');
        return;
      }
      const url = new URL(target);
      const upstream = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      upstream.end(rec.body);
    });
  });
  server.on('connect', (req, socket) => {
    records.push({ method: 'CONNECT', target: req.url ?? '', body: Buffer.alloc(0), headers: req.headers, forwarded: false });
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    records,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
