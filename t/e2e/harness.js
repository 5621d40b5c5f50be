// What the browser scenarios of t/e2e/ share: TAP output, headless
// Chromium (playwright-core driving Debian's /usr/bin/chromium), the web
// mail's pages (login, where a page is, the session cookie), screenshots,
// and the secrets seen (passwords and session IDs: never in a page, and
// written out for the test to look for in the servers' logs).
//
//   const h = harness(cfg, 'webmail');   // cfg: the scenario's JSON file
//   h.run(async () => { const browser = await h.launch(); ... h.ok(cond, name) ... });
//
// cfg fields used here: users ({name: {password, new_password}}), artifacts
// (screenshots: PREFIX-NAME.png), chromium, secrets_out. Everything talks
// to 127.0.0.1 only (h.local refuses anything else).
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function harness(cfg, prefix) {
  fs.mkdirSync(cfg.artifacts, { recursive: true });
  let n = 0;
  let failed = 0;
  const secrets = new Set(); // passwords and session IDs seen: never in a page's HTML or a log
  for (const u of Object.values(cfg.users || {})) {
    for (const k of ['password', 'new_password']) if (u[k]) secrets.add(u[k]);
  }

  function ok(cond, name, diag) {
    n += 1;
    console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
    if (!cond) {
      failed += 1;
      if (diag) for (const line of String(diag).split('\n')) console.log(`# ${line}`);
    }
    return cond;
  }
  function note(msg) { console.log(`# ${msg}`); }

  // A server's base URL, refused unless it is on 127.0.0.1.
  function local(u) {
    const b = new URL(u);
    if (b.hostname !== '127.0.0.1') throw new Error(`refusing a server not on 127.0.0.1: ${b}`);
    return b;
  }

  const url = (p, b) => new URL(`/webmail.cgi${p}`, b).toString();
  const shot = async (page, name) => {
    try { await page.screenshot({ path: path.join(cfg.artifacts, `${prefix}-${name}.png`), fullPage: true }); }
    catch (e) { note(`screenshot ${name}: ${e.message}`); }
  };

  // Runs one part of a scenario; an exception fails it (with a screenshot)
  // and the scenario goes on with the next part.
  async function part(name, page, fn) {
    try {
      await fn();
    } catch (e) {
      ok(false, `${name}: no exception`, e.stack || e.message);
      if (page) await shot(page, `${name.replace(/\W+/g, '-')}-error`);
    }
  }

  async function login(page, user, password, b) {
    await page.goto(url('/login', b));
    await page.fill('#user', user);
    await page.fill('#password', password);
    await Promise.all([page.waitForLoadState('load'), page.click('#login button[type=submit]')]);
  }

  const errorText = async (page) => ((await page.locator('p.error').allTextContents()).join(' | '));
  const onMailbox = (page) => new URL(page.url()).pathname === '/webmail.cgi/mailbox';
  const onLogin = (page) => new URL(page.url()).pathname === '/webmail.cgi/login';

  // The session cookie the context sends to b (its session ID kept as a secret).
  async function sessionCookie(context, b) {
    const cs = await context.cookies(b.toString());
    const c = cs.find((x) => x.name === 'trex_session');
    if (c && c.value.includes('.')) secrets.add(c.value.slice(c.value.indexOf('.') + 1));
    return c;
  }

  async function checkNoSecretsInPage(page, what) {
    const html = await page.content();
    const leaked = [...secrets].filter((s) => html.includes(s));
    ok(leaked.length === 0, `${what}: no password or session ID in the page`,
       leaked.length ? `${leaked.length} secret(s) found in the HTML` : '');
  }

  let browser;
  async function launch() {
    browser = await chromium.launch({
      executablePath: cfg.chromium || '/usr/bin/chromium',
      headless: true,
      // playwright-core starts every browser with a new empty profile (its own
      // temporary --user-data-dir); these are the flags this machine needs.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60000,
    });
    note(`chromium ${browser.version()}`);
    return browser;
  }
  async function newContext() {
    const c = await browser.newContext({ viewport: { width: 1000, height: 760 } });
    c.setDefaultTimeout(20000);
    return c;
  }

  // Runs the scenario, then closes the browser, writes the secrets seen
  // (into the test's private directory), prints the plan and sets the exit
  // status: 1 if any check failed.
  function run(main) {
    const started = Date.now();
    return main()
      .catch((e) => { ok(false, 'the scenario ran to its end', e.stack || e.message); })
      .finally(async () => {
        if (browser) await browser.close().catch(() => {});
        if (cfg.secrets_out) {
          fs.writeFileSync(cfg.secrets_out, JSON.stringify([...secrets]), { mode: 0o600 });
        }
        note(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
        console.log(`1..${n}`);
        process.exitCode = failed ? 1 : 0;
      });
  }

  return {
    ok, note, local, url, shot, part, login, errorText, onMailbox, onLogin, sessionCookie,
    checkNoSecretsInPage, launch, newContext, run, secrets,
  };
}

module.exports = { harness };
