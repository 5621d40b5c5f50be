#!/usr/bin/env node
// End-to-end test of examples/webmail/ in headless Chromium (playwright-core
// driving Debian's /usr/bin/chromium). Run by t/75-webmail-e2e.t, which sets
// up the store, the users, the Maildir and two servers, and passes them in a
// JSON file:
//
//   node t/e2e/webmail.test.js CONFIG.json
//
//   { "url": "http://127.0.0.1:P/",          the server with the normal stack
//     "idle_url": "http://127.0.0.1:Q/",     the same store, a stack with idle=2
//     "idle_wait": 3,                        seconds to wait for the idle expiry
//     "deny": 3,                             faillock's deny= in the test stack
//     "users": { "alice": {"password": ...}, "bob": ..., "carol": {"password", "new_password"},
//                "dave": ..., "erin": ..., "frank": ... },
//     "users": ... "dave": {"password", "new_password"}, ...
//     "admin": ["perl", "-I...", "bin/trex-pam"],   the admin command (argv prefix)
//     "secrets_out": "/tmp/.../secrets.json", where to write the passwords and
//                                            session IDs seen (for the log check)
//     "artifacts": "t/artifacts",            screenshots go here
//     "chromium": "/usr/bin/chromium" }
//
// Prints TAP on standard output (one "ok" per check) and exits 1 if any
// check failed. Everything talks to 127.0.0.1 only. The machinery (TAP, the
// browser, login, cookies, screenshots) is harness.js's.
'use strict';

const fs = require('fs');
const { execFileSync } = require('child_process');
const { harness } = require('./harness');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const h = harness(cfg, 'webmail');
const { ok, note, shot, part, errorText, onMailbox, onLogin, checkNoSecretsInPage, newContext } = h;
const base = h.local(cfg.url);
const idleBase = h.local(cfg.idle_url);
const url = (p, b = base) => h.url(p, b);
const login = (page, user, password, b = base) => h.login(page, user, password, b);
const sessionCookie = (context, b = base) => h.sessionCookie(context, b);

async function main() {
  await h.launch();

  const alice = cfg.users.alice;
  const aliceCtx = await newContext();
  const page = await aliceCtx.newPage();
  let savedCookies = [];

  // 1. Login: the mailbox shows the user, the session and the Maildir.
  await part('login', page, async () => {
    const resp = await page.goto(url('/'));
    ok(resp.ok() && onLogin(page), 'the root redirects to the login form', page.url());
    ok(await page.locator('input[name=csrf]').count() === 1, 'the login form has a CSRF token');
    await shot(page, '01-login-form');
    await login(page, 'alice', alice.password);
    ok(onMailbox(page), 'alice logs in and lands on the mailbox', page.url());
    ok((await page.textContent('#who')).trim() === 'alice', 'the mailbox names the user');
    ok(/Signed in with a session/.test(await page.textContent('#session')),
       'the mailbox says a session signed the user in', await page.textContent('#session'));
    const subjects = await page.locator('#messages td.subject').allTextContents();
    ok(subjects.includes('Hello from the Maildir') && subjects.includes('Héllo <script>alert(1)</script>'),
       'the Maildir subjects are listed (RFC 2047 decoded)', JSON.stringify(subjects));
    ok(await page.locator('#messages script').count() === 0, 'a subject with markup is escaped, not run');
    ok(await page.locator('#messages tr.new').count() === 1, 'the message in new/ is marked new');
    await shot(page, '02-mailbox');

    const c = await sessionCookie(aliceCtx);
    ok(c && /^[A-Za-z0-9_-]+\.trex1\.[A-Za-z0-9_-]{40,}$/.test(c.value), 'a session cookie is set',
       c ? 'unexpected value shape' : 'no trex_session cookie');
    if (c) {
      ok(c.httpOnly === true, 'the session cookie is HttpOnly');
      ok(c.sameSite === 'Strict', 'the session cookie is SameSite=Strict', c.sameSite);
      ok(c.path === '/', 'the session cookie has Path=/', c.path);
      ok(c.secure === false, 'the session cookie is not Secure over plain HTTP');
    }
    ok(await page.evaluate(() => document.cookie) === '', 'page scripts cannot read the cookies');
    await checkNoSecretsInPage(page, 'mailbox');
  });

  // 2. Reload: a new CGI process proves the user again from the session ID.
  await part('reload', page, async () => {
    await page.reload();
    ok(onMailbox(page) && (await page.textContent('#who')).trim() === 'alice', 'reload stays logged in');
    await page.goto(url('/login'));
    ok(onMailbox(page), 'the login page sends a signed-in user to the mailbox', page.url());
  });

  // 3. CSRF: a POST without the right token is refused and changes nothing.
  await part('csrf', page, async () => {
    const r = await aliceCtx.request.post(url('/logout'), { form: { csrf: '0'.repeat(64) }, maxRedirects: 0 });
    ok(r.status() === 403, 'logout with a wrong CSRF token is refused (403)', `status ${r.status()}`);
    const r2 = await aliceCtx.request.post(url('/password'),
      { form: { current: alice.password, new: 'x'.repeat(20), retype: 'x'.repeat(20) }, maxRedirects: 0 });
    ok(r2.status() === 403, 'a password change without a CSRF token is refused (403)', `status ${r2.status()}`);
    await page.goto(url('/mailbox'));
    ok(onMailbox(page), 'the session survives the forged requests');
  });

  // 4. Change password from the mailbox with a wrong current password.
  await part('change-password-wrong-current', page, async () => {
    await page.goto(url('/mailbox'));
    await page.fill('#current', 'not-the-password-1');
    await page.fill('#new', 'Another-Good-Passphrase-42');
    await page.fill('#retype', 'Another-Good-Passphrase-42');
    await Promise.all([page.waitForLoadState('load'), page.click('#password-form button[type=submit]')]);
    const err = await errorText(page);
    ok(/not changed/.test(err), 'a wrong current password is refused with a message', err);
    ok((await page.textContent('#who')).trim() === 'alice', 'and the user stays signed in');
    await shot(page, '03-change-wrong-current');
  });

  // 4b. Wrong current passwords in the change form count as failed logins:
  // a stolen cookie gives no free guesses at the password behind it.
  const frankCtx = await newContext();
  const pf = await frankCtx.newPage();
  await part('change-password-lockout', pf, async () => {
    const frank = cfg.users.frank;
    await login(pf, 'frank', frank.password);
    ok(onMailbox(pf), 'frank signs in', pf.url());
    const change = async (current) => {
      await pf.goto(url('/mailbox'));
      await pf.fill('#current', current);
      await pf.fill('#new', 'Another-Good-Passphrase-43');
      await pf.fill('#retype', 'Another-Good-Passphrase-43');
      await Promise.all([pf.waitForLoadState('load'), pf.click('#password-form button[type=submit]')]);
      return errorText(pf);
    };
    for (let i = 1; i <= cfg.deny; i += 1) {
      const err = await change(`not-his-password-${i}`);
      ok(/current password is wrong/.test(err), `wrong current password ${i} of ${cfg.deny}: refused`, err);
    }
    const err = await change(frank.password);
    ok(new RegExp(`The account is locked due to ${cfg.deny} failed logins\\.`).test(err),
       'then the account is locked: even the right current password is refused, saying so', err);
    ok((await pf.textContent('#who')).trim() === 'frank', 'his session goes on meanwhile');
    await shot(pf, '03b-change-locked');
    const fresh = await (await newContext()).newPage();
    await login(fresh, 'frank', frank.password);
    ok(onLogin(fresh) && /The account is locked/.test(await errorText(fresh)),
       'and the login form refuses his password too', await errorText(fresh));
  });
  await frankCtx.close();

  // 5. Wrong password and unknown user: one generic message.
  const other = await newContext();
  const p2 = await other.newPage();
  await part('wrong-password', p2, async () => {
    await login(p2, 'alice', 'definitely-not-her-password');
    const e1 = await errorText(p2);
    ok(onLogin(p2) && e1 === 'Login failed.', 'a wrong password shows "Login failed."', e1);
    await shot(p2, '04-wrong-password');
    await login(p2, 'nobody-by-this-name', 'whatever-password');
    const e2 = await errorText(p2);
    ok(e2 === e1, 'an unknown user shows the very same message', e2);
    ok(!(await sessionCookie(other)), 'no session cookie after failed logins');
    await checkNoSecretsInPage(p2, 'login error');
  });

  // 6. Lockout: after deny failures the faillock message, even for the right password.
  await part('lockout', p2, async () => {
    const bob = cfg.users.bob;
    for (let i = 1; i <= cfg.deny; i += 1) {
      await login(p2, 'bob', `wrong-password-${i}`);
      const e = await errorText(p2);
      ok(e === 'Login failed.', `bob's failure ${i} of ${cfg.deny} is generic`, e);
    }
    await login(p2, 'bob', bob.password);
    const e = await errorText(p2);
    ok(onLogin(p2) && new RegExp(`The account is locked due to ${cfg.deny} failed logins\\.`).test(e),
       'the right password after the failures shows the lockout message', e);
    ok(!(await sessionCookie(other)), 'a locked account gets no session');
    await shot(p2, '05-locked');
  });

  // 6b. A name nobody has is locked alike: a lock tells nobody who exists.
  await part('lockout-unknown-name', p2, async () => {
    for (let i = 1; i <= cfg.deny; i += 1) {
      await login(p2, 'nobody-by-this-name-2', `wrong-password-${i}`);
      const e = await errorText(p2);
      ok(e === 'Login failed.', `an unknown name's failure ${i} of ${cfg.deny} is generic`, e);
    }
    await login(p2, 'nobody-by-this-name-2', 'any-password-at-all');
    const e = await errorText(p2);
    ok(onLogin(p2) && new RegExp(`The account is locked due to ${cfg.deny} failed logins\\.`).test(e),
       'after as many failures, the very message a user gets', e);
  });
  await other.close();

  // 7. Forced password change (trex-pam usermod --force-change).
  const carolCtx = await newContext();
  const p3 = await carolCtx.newPage();
  await part('forced-change', p3, async () => {
    const carol = cfg.users.carol;
    await login(p3, 'carol', carol.password);
    ok(await p3.locator('h1').textContent() === 'Change your password', 'a forced change shows the change form',
       await p3.locator('h1').textContent());
    ok(!(await sessionCookie(carolCtx)), 'no session before the password is changed');
    await shot(p3, '06-forced-change');
    // A new password the quality rules refuse: the module's message is shown.
    await p3.fill('#current', carol.password);
    await p3.fill('#new', 'carol');
    await p3.fill('#retype', 'carol');
    await Promise.all([p3.waitForLoadState('load'), p3.click('#password-form button[type=submit]')]);
    const errs = await p3.locator('p.error').allTextContents();
    ok(errs.length >= 2 && errs.some((t) => !/not changed/.test(t)),
       "a weak new password is refused and the module's reason is shown", JSON.stringify(errs));
    note(`quality message: ${JSON.stringify(errs)}`);
    await shot(p3, '07-forced-change-refused');
    // Two different new passwords.
    await p3.fill('#current', carol.password);
    await p3.fill('#new', carol.new_password);
    await p3.fill('#retype', `${carol.new_password}x`);
    await Promise.all([p3.waitForLoadState('load'), p3.click('#password-form button[type=submit]')]);
    ok(/do not match/.test(await errorText(p3)), 'mismatched new passwords are refused', await errorText(p3));
    // A good one.
    await p3.fill('#current', carol.password);
    await p3.fill('#new', carol.new_password);
    await p3.fill('#retype', carol.new_password);
    await Promise.all([p3.waitForLoadState('load'), p3.click('#password-form button[type=submit]')]);
    ok(onMailbox(p3) && /password has been changed/.test(await p3.textContent('main')),
       'a good new password is accepted and carol is signed in', p3.url());
    await shot(p3, '08-forced-change-done');
    await Promise.all([p3.waitForLoadState('load'), p3.click('#logout button')]);
    await login(p3, 'carol', carol.password);
    ok(onLogin(p3) && (await errorText(p3)) === 'Login failed.', 'the old password no longer works');
    await login(p3, 'carol', carol.new_password);
    ok(onMailbox(p3), 'the new password works');
    await sessionCookie(carolCtx);
  });
  await carolCtx.close();

  // 8. The administrator forces a change while dave is signed in: his next
  // request shows the change form; then a disabled account is refused at
  // once, even with a live session.
  const admin = (...args) => execFileSync(cfg.admin[0], [...cfg.admin.slice(1), ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const daveCtx = await newContext();
  const p4 = await daveCtx.newPage();
  await part('forced-change-signed-in', p4, async () => {
    const dave = cfg.users.dave;
    await login(p4, 'dave', dave.password);
    ok(onMailbox(p4), 'dave logs in');
    await sessionCookie(daveCtx);
    admin('usermod', 'dave', '--force-change');
    await p4.reload();
    ok(await p4.locator('h1').textContent() === 'Change your password'
       && (await p4.textContent('#who')).trim() === 'dave',
       'after `usermod --force-change` his next request shows the change form, still signed in');
    ok(await p4.locator('#messages').count() === 0, 'and no mail until the password is changed');
    await shot(p4, '09-forced-change-signed-in');
    await p4.fill('#current', dave.password);
    await p4.fill('#new', dave.new_password);
    await p4.fill('#retype', dave.new_password);
    await Promise.all([p4.waitForLoadState('load'), p4.click('#password-form button[type=submit]')]);
    ok(onMailbox(p4) && /password has been changed/.test(await p4.textContent('main')),
       'the change succeeds and the same session goes on', p4.url());
  });
  await part('disabled', p4, async () => {
    await p4.goto(url('/mailbox'));
    ok(onMailbox(p4), 'dave is on the mailbox');
    admin('usermod', 'dave', '--disable');
    await p4.reload();
    ok(onLogin(p4), 'after `usermod --disable` his next request lands on the login form', p4.url());
    await shot(p4, '10-disabled');
  });
  await daveCtx.close();

  // 9. Logout, then the old cookie is refused.
  await part('logout', page, async () => {
    await page.goto(url('/mailbox'));
    savedCookies = await aliceCtx.cookies();
    await Promise.all([page.waitForLoadState('load'), page.click('#logout button')]);
    ok(onLogin(page) && /signed out/.test(await page.textContent('main')), 'logout lands on the login form');
    ok(!(await sessionCookie(aliceCtx)), 'logout clears the cookie');
    await aliceCtx.clearCookies();
    await aliceCtx.addCookies(savedCookies);
    ok(!!(await sessionCookie(aliceCtx)), 'the saved session cookie is replayed');
    const r = await page.goto(url('/mailbox'));
    ok(onLogin(page), 'the replayed cookie is refused: the mailbox redirects to the login form', page.url());
    ok(/session has ended\. Please sign in again/.test(await page.textContent('main')),
       'the login form says the session ended');
    ok(r.ok(), 'the login form loads');
    await shot(page, '11-old-cookie-refused');
  });
  await aliceCtx.close();

  // 10. Idle expiry (the second server's stack has idle=2).
  const erinCtx = await newContext();
  const p5 = await erinCtx.newPage();
  await part('idle', p5, async () => {
    await login(p5, 'erin', cfg.users.erin.password, idleBase);
    ok(new URL(p5.url()).pathname === '/webmail.cgi/mailbox', 'erin logs in on the idle=2 server', p5.url());
    await sessionCookie(erinCtx, idleBase);
    await p5.waitForTimeout(cfg.idle_wait * 1000);
    await p5.reload();
    ok(new URL(p5.url()).pathname === '/webmail.cgi/login', `after ${cfg.idle_wait} s idle the session has expired`,
       p5.url());
    ok(/session has ended after a time without use/.test(await p5.textContent('main')),
       'the login form says the session ended for lack of use');
    await shot(p5, '12-idle-expired');
  });
  await erinCtx.close();
}

h.run(main);
