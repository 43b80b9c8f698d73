/**
 * Which pages may open the manager's WebSocket: by default the server's own origin and loopback ones; a
 * page from another site is refused with HTTP 403 at the upgrade, before any handshake byte; listing its
 * origin in `allowedOrigins` lets it in. The foreign page is the test page loaded as
 * `http://evil.example:PORT/` (Chromium resolves that name to 127.0.0.1), which is not a secure context:
 * there the client has no WebCrypto and encrypts with tweetnacl's suite.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_SKIP, FOREIGN_HOST, TIMEOUT, freePort, inPage, openTestPage, servePage, type OpenPage, type PageServer } from './harness.js';

/** The Origin headers of the WebSocket upgrades the server received. */
function upgradesSeen(web: PageServer): Array<string | undefined> {
  const seen: Array<string | undefined> = [];
  web.http.on('upgrade', (req: IncomingMessage) => seen.push(req.headers.origin));
  return seen;
}

/** Connects from the page with encryption required: the suite in use, or the error connect() rejected with. */
function tryConnect(open: OpenPage, url: string) {
  return inPage(open, async (mpm, wsUrl) => {
    const secure = (globalThis as unknown as { isSecureContext: boolean }).isSecureContext;
    const m = new mpm.SyncManager(wsUrl, { authkey: 'browser-test-key', encryption: 'require' });
    try {
      await m.connect();
    } catch (e) {
      const err = e as Error & { code?: string };
      return { connected: false, secure, name: err.name, code: err.code, message: err.message };
    }
    const d = await m.dict<string, number>();
    await d.set('n', 1);
    const n = await d.get('n');
    const encryption = m.client.encryption;
    await m.shutdown();
    return { connected: true, secure, provider: mpm.cryptoProvider, encryption, n };
  }, url);
}

describe.skipIf(CHROMIUM_SKIP !== null)(`origins${CHROMIUM_SKIP === null ? '' : ` (${CHROMIUM_SKIP})`}`, () => {
  it('a page from another site is refused with 403 before the handshake', { timeout: TIMEOUT }, async () => {
    const port = await freePort();
    const web = await servePage({ port });
    const seen = upgradesSeen(web);
    const open = await openTestPage(`http://${FOREIGN_HOST}:${port}/`);
    const out = await tryConnect(open, web.wsUrl);
    const context = `${JSON.stringify(out)}\n${open.describe()}`;
    expect(out, context).toMatchObject({ connected: false, code: 'MPM_ERR_CONNECT' });
    // The refusal is the server's: the upgrade arrived with the page's Origin and was answered 403.
    expect(seen, context).toContain(`http://${FOREIGN_HOST}:${port}`);
    expect(open.log.join('\n'), context).toMatch(/Unexpected response code: 403/);
  });

  it('allowedOrigins lets that site in; off a secure context the channel is XSalsa20-Poly1305', { timeout: TIMEOUT }, async () => {
    const port = await freePort();
    const web = await servePage({ port, allowedOrigins: [`http://${FOREIGN_HOST}:${port}`] });
    const open = await openTestPage(`http://${FOREIGN_HOST}:${port}/`);
    const out = await tryConnect(open, web.wsUrl);
    expect(out, open.describe()).toEqual({ connected: true, secure: false, provider: 'nacl', encryption: 'xsalsa20-poly1305', n: 1 });
  });

  it('a page on another loopback origin (localhost) is let in by default', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(`http://localhost:${new URL(web.origin).port}/`);
    const out = await tryConnect(open, web.wsUrl);
    expect(out, open.describe()).toEqual({ connected: true, secure: true, provider: 'webcrypto', encryption: 'aes-256-gcm', n: 1 });
  });
});
