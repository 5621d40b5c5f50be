#!/usr/bin/env node
// Two web servers of examples/webmail/ with one set of users and sessions,
// in headless Chromium: a user signs in on server A, opens server B in
// another tab of the same browser (cookies are per host, not per port, as
// behind one name) and is recognised there; signs out on B, and A asks for
// a login again; the cookie of the ended session, replayed to A, is
// refused. Run by t/76-webmail-two-servers.t, which starts the store's
// servers and the two web servers, and passes them in a JSON file:
//
//   node t/e2e/two-servers.test.js CONFIG.json
//
//   { "url_a": "http://127.0.0.1:P/", "url_b": "http://127.0.0.1:Q/",
//     "users": { "erin": {"password": ...} },
//     "secrets_out": "/tmp/.../secrets.json", "artifacts": "t/artifacts",
//     "chromium": "/usr/bin/chromium" }
//
// Prints TAP on standard output and exits 1 if any check failed; the
// machinery is harness.js's.
'use strict';

const fs = require('fs');
const { harness } = require('./harness');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const h = harness(cfg, 'two-servers');
const { ok, shot, part, onMailbox, onLogin, url, sessionCookie } = h;
const a = h.local(cfg.url_a);
const b = h.local(cfg.url_b);
const [user] = Object.keys(cfg.users);

async function main() {
  await h.launch();
  const ctx = await h.newContext();
  const pageA = await ctx.newPage();
  const pageB = await ctx.newPage();    // a second tab of the same browser
  let saved = [];

  await part('sign in on A', pageA, async () => {
    await h.login(pageA, user, cfg.users[user].password, a);
    ok(onMailbox(pageA) && (await pageA.textContent('#who')).trim() === user,
       `${user} signs in on server A`, pageA.url());
    await shot(pageA, '01-a-mailbox');
  });

  await part('recognised on B', pageB, async () => {
    const ca = await sessionCookie(ctx, a);
    const cb = await sessionCookie(ctx, b);
    ok(ca && cb && ca.value === cb.value, "server B's address gets the session cookie set by A");
    saved = await ctx.cookies();
    await pageB.goto(url('/', b));
    ok(onMailbox(pageB) && new URL(pageB.url()).port === b.port, 'B sends the user on to its mailbox',
       pageB.url());
    ok((await pageB.textContent('#who')).trim() === user, `B recognises ${user} without a login`);
    ok(/Signed in with a session/.test(await pageB.textContent('#session')),
       "B's page says a session signed the user in");
    await shot(pageB, '02-b-recognised');
    await pageA.reload();
    ok(onMailbox(pageA), 'A still has the user signed in');
    await h.checkNoSecretsInPage(pageB, "B's mailbox");
  });

  await part('sign out on B', pageB, async () => {
    await Promise.all([pageB.waitForLoadState('load'), pageB.click('#logout button')]);
    ok(onLogin(pageB) && /signed out/.test(await pageB.textContent('main')), 'signing out on B lands on the login form');
    await pageA.reload();
    ok(onLogin(pageA) && new URL(pageA.url()).port === a.port, 'A asks for a login again', pageA.url());
    await shot(pageA, '03-a-after-b-logout');
  });

  await part('the ended session on A', pageA, async () => {
    await ctx.clearCookies();
    await ctx.addCookies(saved);
    ok(!!(await sessionCookie(ctx, a)), 'the cookie of the session B ended is replayed to A');
    await pageA.goto(url('/mailbox', a));
    ok(onLogin(pageA) && /session has ended\. Please sign in again/.test(await pageA.textContent('main')),
       'A refuses it: the session has ended', pageA.url());
    await shot(pageA, '04-a-refuses-ended-session');
  });
  await ctx.close();
}

h.run(main);
