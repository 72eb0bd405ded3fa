// The web UI in a real browser (Debian's Chromium, driven by playwright-core) against the real
// server, with real agents under the boot simulator: an operator logs in, admits two pending
// gateways, uploads a signed artifact, starts a two-phase rollout and watches it finish, and
// reads the audit log; a viewer is offered no control that changes anything, and forged requests
// are refused. The main pages are saved as screenshots under docs/screenshots/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createArtifact } from '@slipway/core';
import { createLogger, loadServerConfig, type RunningServer, startServer } from '@slipway/server';
import { type HttpsJsonClient, httpsJsonClient, newSigner, signedRoot } from '@slipway/testkit';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

// Compiled to packages/web/dist/test/browser.test.js: the repository root is four levels up.
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const UI_DIR = join(REPO, 'packages/web/dist/ui');
const SCREENSHOTS = join(REPO, 'docs/screenshots');
const CHROMIUM = '/usr/bin/chromium';
const API = '/api/management/v1';
const ADMIN_PASSWORD = 'browser test admin password';
const VIEWER_PASSWORD = 'browser test viewer password';
const SERIALS = ['GW-WEB-1', 'GW-WEB-2'];
/** A third gateway nobody admits: the dashboard shows it waiting. */
const WAITING = 'GW-WEB-3';
const DEVICE_TYPE = 'gw-web';
const TIMEOUT_MS = 170_000;

interface Gateway {
  readonly sim: { powerOn(): Promise<unknown>; stop(): Promise<void> };
}

const missing = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install chromium)`
  : !existsSync(join(UI_DIR, 'index.html'))
    ? `${UI_DIR} is not built (npm run build)`
    : null;

describe('the web UI in Chromium', { timeout: TIMEOUT_MS }, () => {
  let dir: string;
  let server: RunningServer;
  let admin: HttpsJsonClient;
  let adminToken: string;
  let browser: Browser;
  const gateways: Gateway[] = [];
  const release = newSigner();
  const consoleErrors: string[] = [];

  before(async () => {
    if (missing) {
      if (process.env.CI === 'true') throw new Error(missing);
      return;
    }
    dir = await mkdtemp(join(tmpdir(), 'slipway-web-'));
    const configFile = join(dir, 'server.json');
    await writeFile(configFile, JSON.stringify({ web: { dir: UI_DIR }, deployments: { engineIntervalMs: 200 } }));
    const config = await loadServerConfig({ configFile, dataDir: join(dir, 'data'), listen: '127.0.0.1:0' }, {});
    server = await startServer(config, { logger: createLogger('silent'), adminPassword: ADMIN_PASSWORD });
    admin = httpsJsonClient(server.url, await readFile(server.caFile as string, 'utf8'));
    const login = await admin.call('POST', `${API}/auth/login`, {
      body: Buffer.from(JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD })),
    });
    adminToken = (login.body as { token: string }).token;

    // The fleet's trust root, made as `slipway trust init/sign` would, and uploaded.
    const rootKey = newSigner();
    const root = await signedRoot({ version: 1, rootKeys: [rootKey], releaseKeys: [release], signers: [rootKey] });
    await writeFile(join(dir, 'root.json'), root);
    await call('POST', '/trust/roots', Buffer.from(root));

    // Two gateways: the bundled agent under the boot simulator, calling in as pending devices.
    const lib = (await import(join(REPO, 'scripts/lib/simulated-gateway.mjs'))) as {
      createGateway(options: Record<string, unknown>): Promise<unknown>;
      gatewaySimulator(files: unknown, options: Record<string, unknown>): Promise<Gateway['sim']>;
    };
    for (const serial of [...SERIALS, WAITING]) {
      const files = await lib.createGateway({
        dir: join(dir, serial),
        serial,
        deviceType: DEVICE_TYPE,
        serverUrl: server.url,
        caFile: server.caFile,
        trustRootFile: join(dir, 'root.json'),
        pollSeconds: 0.5,
      });
      const sim = await lib.gatewaySimulator(files, { bootable: (sha: string) => sha !== EMPTY_SHA256 });
      await sim.powerOn();
      gateways.push({ sim });
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    for (const g of gateways) await g.sim.stop().catch(() => undefined);
    await browser?.close();
    admin?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function call<T = unknown>(method: string, path: string, body?: Buffer | object): Promise<T> {
    const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const reply = await admin.call(method, `${API}${path}`, {
      ...(bytes ? { body: bytes } : {}),
      headers: { authorization: `Bearer ${adminToken}`, ...(bytes ? { 'content-type': 'application/json' } : {}) },
    });
    if (reply.status >= 300) throw new Error(`${method} ${path}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as T;
  }

  /** `gateway-os VERSION`, a rootfs image of `size` bytes for the gateways, signed by the release key. */
  async function signedArtifact(version: string, size: number): Promise<string> {
    const image = join(dir, `rootfs-${version}.img`);
    await writeFile(image, Buffer.alloc(size, version));
    const file = join(dir, `gateway-os-${version}.slw`);
    await createArtifact(file, {
      name: 'gateway-os',
      version,
      securityVersion: 1,
      deviceTypes: [DEVICE_TYPE],
      payloadType: 'rootfs',
      payloads: [{ path: image, name: 'rootfs.img' }],
      compression: 'none',
      now: new Date(),
      signers: [release],
    });
    return file;
  }

  async function newPage(width = 1280, height = 860): Promise<{ context: BrowserContext; page: Page }> {
    // The server's certificate comes from its own local CA, which this throwaway browser profile does not know.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width, height } });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('dialog', (dialog) => void dialog.accept());
    return { context, page };
  }

  async function logIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto(server.url);
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check().catch(() => undefined);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  test('an operator admits the pending gateways, uploads a release, rolls it out in two phases and reads the audit log', async (t) => {
    if (missing) return t.skip(missing);
    const { context, page } = await newPage();
    try {
      const served = await page.goto(server.url);
      assert.match(served?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
      await logIn(page, 'admin', ADMIN_PASSWORD);

      // Admit: the pending list offers Accept for each gateway.
      await page.goto(`${server.url}/#/devices?status=pending`);
      for (const serial of SERIALS) {
        const accept = page.getByRole('button', { name: `Accept serial=${serial}` });
        await accept.waitFor({ timeout: 30_000 });
        await accept.click();
        await accept.waitFor({ state: 'detached' });
      }
      await eventually('both gateways to report their device type', async () => {
        const list = await call<{ devices: { deviceType: string | null }[] }>(
          'GET',
          `/devices?status=accepted&attr.device_type=${DEVICE_TYPE}`,
        );
        return list.devices.length === SERIALS.length;
      });

      // Upload a signed artifact, with its progress, through the browser.
      const artifact = await signedArtifact('2.0', 512 * 1024);
      await page.goto(`${server.url}/#/artifacts`);
      await page.getByLabel('Upload a signed artifact (.slw)').setInputFiles(artifact);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.getByText('uploaded gateway-os 2.0: the server verified its signatures').waitFor();
      await page.getByText('threshold met').first().waitFor();
      await screenshot(page, 'artifacts');

      // A two-phase rollout to the two gateways, watched until it finishes.
      await page.goto(`${server.url}/#/deployments`);
      await page.getByRole('button', { name: 'New deployment' }).click();
      await page.getByLabel('Artifact').selectOption('gateway-os@2.0');
      await page.getByLabel('Devices by serial').fill(SERIALS.join(', '));
      await page.getByRole('textbox', { name: /^Phases/ }).fill('50%,100%');
      await page.getByLabel('Success threshold').fill('100%');
      await page.getByRole('button', { name: 'Start rollout' }).click();
      await page.waitForURL(/#\/deployments\/[0-9a-f-]{36}$/);
      await page.getByText('Phase 2', { exact: true }).waitFor();
      await page
        .locator('.badge', { hasText: /^succeeded$/ })
        .first()
        .waitFor({ timeout: 90_000 });
      const deploymentId = page.url().split('/').pop() as string;
      const finished = await call<{ status: string; devices: { succeeded: number } }>('GET', `/deployments/${deploymentId}`);
      assert.equal(finished.status, 'succeeded');
      assert.equal(finished.devices.succeeded, 2);
      await screenshot(page, 'deployment');

      // The audit log shows who did all that, and that the chain is intact.
      await page.goto(`${server.url}/#/audit`);
      await page.getByText(/^Intact: \d+ entries/).waitFor();
      for (const action of ['deployment.create', 'artifact.upload', 'device.accept'])
        await page
          .locator('td code', { hasText: new RegExp(`^${action.replace('.', '\\.')}$`) })
          .first()
          .waitFor();
      await page.getByLabel('Action').fill('device.');
      await page.getByRole('button', { name: 'Filter', exact: true }).click();
      await page.locator('td code', { hasText: /^deployment\.create$/ }).waitFor({ state: 'detached' });
      await screenshot(page, 'audit');

      // Users and tokens: a CI token, shown once, then revoked (a security event).
      await page.goto(`${server.url}/#/admin`);
      await page.getByLabel('New token').fill('ci-nightly');
      await page.getByRole('button', { name: 'Create token' }).click();
      await page.getByText('The new token is shown once').waitFor();
      assert.match((await page.locator('.secret code').textContent()) ?? '', /^slw_/);
      await page.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('button', { name: 'Revoke ci-nightly' }).click();
      await page.getByRole('cell', { name: 'revoked' }).waitFor();
      await screenshot(page, 'admin');

      await page.goto(`${server.url}/#/`);
      await page.getByRole('heading', { name: 'Versions across the fleet' }).waitFor();
      await page.getByTestId('pending-count').filter({ hasText: /^1$/ }).waitFor();
      await page.locator('ul.events code', { hasText: 'token.revoke' }).waitFor();
      await page.getByText('gateway-os 2.0 — 2 (100%)').waitFor({ timeout: 35_000 });
      await screenshot(page, 'dashboard');
      await page.goto(`${server.url}/#/devices`);
      await page.getByRole('link', { name: 'serial=GW-WEB-1' }).waitFor();
      await screenshot(page, 'devices');
      await page.getByRole('link', { name: 'serial=GW-WEB-1' }).click();
      await page.getByRole('heading', { name: 'Inventory', exact: true }).waitFor();
      await page.getByRole('cell', { name: 'success' }).first().waitFor();
      await screenshot(page, 'device');

      // A request another site could make carries the cookie but not the CSRF header: refused.
      const gw1 = await call<{ devices: { id: string }[] }>('GET', '/devices?attr.serial=GW-WEB-1');
      const forged = await page.evaluate(async (id) => {
        const response = await fetch(`/api/management/v1/devices/${id}/decommission`, { method: 'POST', credentials: 'same-origin' });
        return { status: response.status, body: (await response.json()) as { error: { code: string } } };
      }, gw1.devices[0]?.id as string);
      assert.equal(forged.status, 403);
      assert.equal(forged.body.error.code, 'SLW_AUTH_CSRF');
      assert.deepEqual(
        consoleErrors.filter((e) => /Content Security Policy/i.test(e)),
        [],
        'no CSP violations',
      );
    } finally {
      await context.close();
    }
  });

  test('a rollout that waits for approval is paused, resumed and advanced from its page', async (t) => {
    if (missing) return t.skip(missing);
    const file = await signedArtifact('2.1', 256 * 1024);
    await admin.call('POST', `${API}/artifacts`, {
      body: await readFile(file),
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream' },
    });
    const { context, page } = await newPage();
    try {
      await logIn(page, 'admin', ADMIN_PASSWORD);
      await page.goto(`${server.url}/#/deployments`);
      await page.getByRole('button', { name: 'New deployment' }).click();
      await page.getByLabel('Artifact').selectOption('gateway-os@2.1');
      await page.getByLabel('Devices by serial').fill(SERIALS.join(', '));
      await page.getByRole('textbox', { name: /^Phases/ }).fill('50%,100%');
      await page.getByLabel('Success threshold').fill('100%');
      await page.getByLabel('Each phase waits for approval').check();
      await page.getByRole('button', { name: 'Start rollout' }).click();
      await page.waitForURL(/#\/deployments\/[0-9a-f-]{36}$/);
      const id = page.url().split('/').pop() as string;
      const status = async () => (await call<{ status: string; currentPhase: number }>('GET', `/deployments/${id}`)).status;

      await page.getByRole('button', { name: 'Pause', exact: true }).click();
      await page.getByRole('button', { name: 'Resume', exact: true }).waitFor();
      assert.equal(await status(), 'paused');
      await page.getByRole('button', { name: 'Resume', exact: true }).click();
      await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
      // Phase 1 finishes and waits for approval: phase 2 starts only from the button.
      await page.getByText('1 of 1 succeeded (1 needed), 0 failed (halts at 1), 0 working · done').waitFor({ timeout: 60_000 });
      assert.equal((await call<{ currentPhase: number }>('GET', `/deployments/${id}`)).currentPhase, 1);
      await page.getByRole('button', { name: 'Start phase 2 now' }).click();
      await page
        .locator('.badge', { hasText: /^succeeded$/ })
        .first()
        .waitFor({ timeout: 60_000 });
      assert.equal(await status(), 'succeeded');
    } finally {
      await context.close();
    }
  });

  test('groups: a static one filled by serial, a dynamic one that follows its filter', async (t) => {
    if (missing) return t.skip(missing);
    const { context, page } = await newPage();
    try {
      await logIn(page, 'admin', ADMIN_PASSWORD);
      await page.goto(`${server.url}/#/groups`);
      await page.getByLabel('New group').fill('canary');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      const canary = page.getByRole('region', { name: 'canary' });
      await canary.getByRole('button', { name: 'Show members' }).click();
      await canary.getByLabel('Add device by serial').fill('GW-WEB-1');
      await canary.getByRole('button', { name: 'Add', exact: true }).click();
      await canary.getByRole('link', { name: 'serial=GW-WEB-1' }).waitFor();
      await canary.getByText('static · 1 member').waitFor();

      await page.getByLabel('New group').fill('web-fleet');
      await page.getByRole('textbox', { name: /^Filter/ }).fill(`status=accepted, device_type=${DEVICE_TYPE}`);
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      const fleet = page.getByRole('region', { name: 'web-fleet' });
      await fleet.getByText(`dynamic: status=accepted, device_type=${DEVICE_TYPE}`).waitFor();
      await fleet.getByText('2 members').waitFor();
      // Members of a dynamic group follow its filter: nobody adds or removes them by hand.
      await fleet.getByRole('button', { name: 'Show members' }).click();
      await fleet.getByRole('link', { name: 'serial=GW-WEB-2' }).waitFor();
      assert.equal(await fleet.getByLabel('Add device by serial').count(), 0);
    } finally {
      await context.close();
    }
  });

  test('a viewer is offered no control that changes anything, and the API refuses a crafted change', async (t) => {
    if (missing) return t.skip(missing);
    await call('POST', '/users', { username: 'vera', password: VIEWER_PASSWORD, role: 'viewer' });
    const { context, page } = await newPage();
    try {
      await page.goto(server.url);
      await page.getByLabel('User name').fill('vera');
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByText('SLW_AUTH_INVALID_CREDENTIALS: wrong user name or password').waitFor();
      await logIn(page, 'vera', VIEWER_PASSWORD);
      const nav = page.getByRole('navigation', { name: 'main' });
      await nav.getByRole('link', { name: 'Devices' }).waitFor();
      assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0);
      assert.equal(await nav.getByRole('link', { name: 'Users & tokens' }).count(), 0);

      await page.goto(`${server.url}/#/devices`);
      await page.getByRole('link', { name: 'serial=GW-WEB-1' }).waitFor();
      assert.equal(await page.getByRole('button', { name: /^(Accept|Reject)/ }).count(), 0);
      await page.getByRole('link', { name: 'serial=GW-WEB-1' }).click();
      await page.getByRole('heading', { name: 'Inventory', exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Decommission' }).count(), 0);

      await page.goto(`${server.url}/#/deployments`);
      await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'New deployment' }).count(), 0);
      await page.locator('ul.rollouts a').first().click();
      await page.getByRole('heading', { name: 'Phases', exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: /^(Pause|Resume|Abort|Start phase)/ }).count(), 0);
      await page.goto(`${server.url}/#/artifacts`);
      await page.getByText('threshold met').first().waitFor();
      assert.equal(await page.getByLabel('Upload a signed artifact (.slw)').count(), 0);
      assert.equal(await page.getByRole('button', { name: /^Delete/ }).count(), 0);

      // Even with the CSRF header, the viewer's role may not change anything.
      const gw1 = await call<{ devices: { id: string }[] }>('GET', '/devices?attr.serial=GW-WEB-1');
      const crafted = await page.evaluate(async (id) => {
        // Runs in the page: `document` is the browser's.
        const cookies = (globalThis as unknown as { document: { cookie: string } }).document.cookie;
        const csrf =
          cookies
            .split('; ')
            .find((c: string) => c.startsWith('__Host-slipway_csrf='))
            ?.split('=')[1] ?? '';
        const response = await fetch(`/api/management/v1/devices/${id}/decommission`, {
          method: 'POST',
          headers: { 'x-slipway-csrf': csrf },
          credentials: 'same-origin',
        });
        return { status: response.status, body: (await response.json()) as { error: { code: string } } };
      }, gw1.devices[0]?.id as string);
      assert.equal(crafted.status, 403);
      assert.equal(crafted.body.error.code, 'SLW_AUTH_FORBIDDEN');
      assert.equal((await call<{ status: string }>('GET', `/devices/${gw1.devices[0]?.id}`)).status, 'accepted');
    } finally {
      await context.close();
    }
  });

  test('the login and the navigation work from the keyboard alone', async (t) => {
    if (missing) return t.skip(missing);
    const { context, page } = await newPage();
    try {
      await page.goto(server.url);
      await page.getByLabel('User name').waitFor();
      await page.keyboard.press('Tab');
      await page.keyboard.type('admin');
      await page.keyboard.press('Tab');
      await page.keyboard.type(ADMIN_PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
      // The first Tab reaches the skip link, which moves focus to the page's content.
      await page.keyboard.press('Tab');
      assert.equal(
        await page.evaluate(
          () => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent,
        ),
        'Skip to content',
      );
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    } finally {
      await context.close();
    }
  });

  test('on a narrow screen the navigation folds into a menu', async (t) => {
    if (missing) return t.skip(missing);
    const { context, page } = await newPage(390, 844);
    try {
      await logIn(page, 'admin', ADMIN_PASSWORD);
      const devices = page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Devices' });
      assert.equal(await devices.isVisible(), false);
      await page.getByRole('button', { name: 'Menu' }).click();
      await devices.waitFor({ state: 'visible' });
      await screenshot(page, 'narrow');
      await devices.click();
      await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    } finally {
      await context.close();
    }
  });
});

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
