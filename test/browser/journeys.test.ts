import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startLocalStack } from '../../infra/local/stack.js';
import { localWebRoutes } from '../../infra/local/web.js';
import { loadConfig } from '../../shared/config.js';
import { arcCheckDigit } from '../../shared/domain/arc.js';
import {
  checkPage,
  launchBrowser,
  newContext,
  type PageGlobals,
  screenshot,
  switchLanguage,
} from './harness.js';

/**
 * The officer and the holder, end to end in a real browser (Debian Chromium) against the stack:
 * counter application → subscriber code and form → holder login (refused, then locked after 4 wrong
 * codes on another application) → order with the itemised fee → e-invoice refused inline → payment
 * at the sandbox gateway → card issued and mailed → suspension and resumption seen by the public query
 * → revocation at the station. Screenshots of every main page in both languages go to
 * test-output/screenshots (and docs/screenshots with SAVE_DOC_SCREENSHOTS=1).
 */

/** Per test: a real browser and, after payment, the issuance workflow. */
const SLOW = 180_000;

const randomArc = (): string => {
  const first8 = `A8${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  return `${first8}${arcCheckDigit(first8)}`;
};
/** A valid ARC number with its last digit changed: the check digit no longer matches. */
const badCheckDigit = (arc: string) => `${arc.slice(0, 9)}${(Number(arc[9]) + 1) % 10}`;

let browser: Browser;
let stack: { url: string; outbox: string; close: () => Promise<void> };

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The real local stack (infra/local/stack.ts) with the web routes mounted as `npm start` does. */
const startStack = async (): Promise<typeof stack> => {
  const stateDir = await mkdtemp(join(tmpdir(), 'acdc-browser-'));
  const config = loadConfig({
    STATE_DIR: stateDir,
    PORT: String(await freePort()),
    SUBSCRIBER_CODE_SCRYPT_LOG2N: '10',
  });
  const s = await startLocalStack({
    config,
    ephemeralDatabase: true,
    rawRoutes: localWebRoutes({ stateDir }),
    // The card personalization bureau, as `npm start` runs it: blank stock, then it writes and mails cards.
    cardStation: { minStock: 2, enrollCount: 2 },
  });
  return {
    url: s.url,
    outbox: s.paths.outbox,
    close: async () => {
      await s.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
};
let officerCtx: BrowserContext;
let holderCtx: BrowserContext;
let officer: Page;
let holder: Page;

/** Screenshots of the current page in Chinese and English (and back to Chinese). */
const shotBoth = async (page: Page, name: string) => {
  expect(await checkPage(page)).toEqual({ unlabelled: [], overflow: 0 });
  await switchLanguage(page, 'zh-TW');
  await screenshot(page, `${name}.zh-TW`);
  await switchLanguage(page, 'en');
  await screenshot(page, `${name}.en`);
  await switchLanguage(page, 'zh-TW');
};

const applicant = { arc: randomArc(), name: 'NGUYEN VAN AN', email: 'an.nguyen@example.com' };
const lockedApplicant = { arc: randomArc(), name: 'MARIA SANTOS', email: 'maria.santos@example.com' };
const created: Record<string, { id: string; code: string }> = {};

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [join('node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web', '--logLevel', 'warn'],
    {
      stdio: 'inherit',
    },
  );
  stack = await startStack();
  browser = await launchBrowser();
  officerCtx = await newContext(browser, { baseURL: stack.url, lang: 'zh-TW' });
  holderCtx = await newContext(browser, { baseURL: stack.url, lang: 'zh-TW', phone: true });
  officer = await officerCtx.newPage();
  holder = await holderCtx.newPage();
}, SLOW);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

let cardNumber = '';

/** The public status query by card number, as anyone would ask; every certificate has `expected`. */
const publicQuery = async (page: Page, card: string, expected: 'good' | 'hold' | 'revoked') => {
  await page.goto(`/status?by=cardNumber&cardNumber=${card}`);
  await page.getByRole('button', { name: /^(查詢|Search)$/ }).click();
  await page.locator('#query-table').waitFor();
  const statuses = await page
    .locator('#query-table [data-status]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
  expect(statuses.length).toBeGreaterThanOrEqual(2);
  expect(new Set(statuses)).toEqual(new Set([expected]));
};

const fillApplication = async (p: Page, who: typeof applicant) => {
  await p.getByLabel(/居留證統一證號|ARC number/).fill(who.arc);
  await p.locator('#apply-arcExpiry').fill('2029-06-30');
  await p.locator('#apply-name').fill(who.name);
  await p.locator('#apply-dateOfBirth').fill('1990-04-12');
  await p.locator('#apply-email').fill(who.email);
  await p.locator('#apply-postalCode').fill('100');
  await p.locator('#apply-city').fill('臺北市');
  await p.locator('#apply-line1').fill('中正區重慶南路一段 122 號');
};

describe('station officer', () => {
  it(
    'signs in with the local token issuer',
    async () => {
      await officer.goto('/station');
      await officer.waitForURL(/\/station\/sign-in/);
      await shotBoth(officer, 'station-sign-in');
      await officer.getByRole('button', { name: /Sign in \(local\)|登入（本機）/ }).click();
      await officer.waitForURL(/\/station\/applications\/new/);
      await officer
        .getByText(/officer01/)
        .first()
        .waitFor();
    },
    SLOW,
  );

  it(
    'gets told about a wrong ARC check digit and an under-age applicant while typing',
    async () => {
      const arcField = officer.getByLabel(/居留證統一證號/);
      await arcField.fill(badCheckDigit(applicant.arc));
      const arcError = officer.locator('#apply-arcNumber-error');
      await expect(arcError.textContent()).resolves.toContain('檢查碼');
      expect(await arcField.getAttribute('aria-invalid')).toBe('true');
      await arcField.fill(applicant.arc);
      await expect(arcError.textContent()).resolves.toBe('');

      const dob = officer.getByLabel(/出生日期/);
      const tenYearsAgo = `${new Date().getFullYear() - 10}-01-01`;
      await dob.fill(tenYearsAgo);
      await expect(officer.locator('#apply-dateOfBirth-error').textContent()).resolves.toContain('18');
      await shotBoth(officer, 'station-new-application-errors');
    },
    SLOW,
  );

  it(
    'creates two applications, shows each subscriber code once and hands out the PDF form',
    async () => {
      for (const [key, who] of [
        ['main', applicant],
        ['locked', lockedApplicant],
      ] as const) {
        if (key === 'locked')
          await officer.getByRole('button', { name: /下一位申請人|Next applicant/ }).click();
        await fillApplication(officer, who);
        if (key === 'main') await shotBoth(officer, 'station-new-application');
        await officer.getByRole('button', { name: /建立申請|Create application/ }).click();
        await officer.locator('#created-code').waitFor();
        created[key] = {
          id: (await officer.locator('#created-id').textContent())!.trim(),
          code: (await officer.locator('#created-code').textContent())!.trim(),
        };
        expect(created[key]!.code).toMatch(/^[A-Za-z0-9]{6,10}$/);
        if (key === 'main') {
          await shotBoth(officer, 'station-application-created');
          const [download] = await Promise.all([
            officer.waitForEvent('download'),
            officer.locator('#form-download').click(),
          ]);
          const pdf = await readFile((await download.path())!);
          expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        }
      }
    },
    SLOW,
  );

  it(
    'looks the application up by id',
    async () => {
      await officer.goto(`/station/applications?id=${created.main!.id}`);
      const status = officer.locator('#lookup-status');
      await status.waitFor();
      expect(await status.getAttribute('data-status')).toBe('awaiting_payment');
      await shotBoth(officer, 'station-lookup');
    },
    SLOW,
  );
});

describe('holder', () => {
  it(
    'is refused with a wrong code, then locked after 4 wrong codes, and told what to do',
    async () => {
      await holder.goto('/portal');
      await holder.waitForURL(/\/portal\/login/);
      await shotBoth(holder, 'portal-login');
      await holder.getByLabel(/居留證統一證號/).fill(lockedApplicant.arc);
      const code = holder.getByLabel(/用戶代碼/);
      const result = holder.locator('#login-result');
      /** One sign-in attempt, waiting for the API's answer (the status code it gave). */
      const attempt = async (submit: () => Promise<void>) => {
        const [res] = await Promise.all([
          holder.waitForResponse((r) => r.url().endsWith('/v1/portal/sessions')),
          submit(),
        ]);
        return res.status();
      };
      for (let i = 1; i <= 3; i++) {
        await code.fill(`WRONG${i}X`);
        expect(await attempt(() => holder.getByRole('button', { name: '登入' }).click())).toBe(401);
        await expect(result.textContent()).resolves.toContain('不正確');
      }
      // The fourth from the keyboard alone: Enter in the code field submits the form.
      await code.fill('WRONG4X');
      expect(await attempt(() => code.press('Enter'))).toBe(423);
      await holder.getByText('已被鎖定').first().waitFor();
      expect(await result.textContent()).toContain('取回用戶代碼');
      expect(await result.textContent()).toContain('npm run card -- change-code');
      // Even the right code is refused while locked.
      await code.fill(created.locked!.code);
      await holder.getByRole('button', { name: '登入' }).click();
      await holder.getByText('已被鎖定').first().waitFor();
      expect(holder.url()).toMatch(/\/portal\/login$/);
      await shotBoth(holder, 'portal-login-locked');
    },
    SLOW,
  );

  it(
    'signs in and sees the itemised fee and the payment deadline counting down',
    async () => {
      await holder.reload();
      await holder.getByLabel(/居留證統一證號/).fill(applicant.arc.toLowerCase());
      await holder.getByLabel(/用戶代碼/).fill(created.main!.code);
      await holder.getByRole('button', { name: '登入' }).click();
      await holder.waitForURL(/\/portal$/);
      await holder.locator('#fee-total').waitFor();
      const fee = await holder.locator('table.fee').textContent();
      expect(fee).toContain('NT$250');
      expect(fee).toContain('NT$28');
      expect(await holder.locator('#fee-total').textContent()).toBe('NT$278');
      const timer = holder.getByRole('timer');
      const first = await timer.textContent();
      expect(first).toMatch(/1[45] 天/);
      await holder.waitForFunction(
        (before) =>
          (globalThis as unknown as PageGlobals).document.querySelector('[role=timer]')?.textContent !==
          before,
        first,
      );
      await shotBoth(holder, 'portal-order');
    },
    SLOW,
  );

  it(
    'has an invalid mobile barcode refused inline, then pays at the sandbox gateway',
    async () => {
      await holder.getByRole('link', { name: '立即繳費' }).click();
      await holder.waitForURL(/\/portal\/payment/);
      expect(await holder.getByLabel(/^郵遞區號/).inputValue()).toBe('100');
      const barcode = holder.locator('#pay-carrier');
      await barcode.fill('/abc12');
      await barcode.blur();
      const error = holder.locator('#pay-carrier-error');
      await expect(error.textContent()).resolves.toContain('手機條碼');
      expect(await barcode.getAttribute('aria-invalid')).toBe('true');
      await holder.getByLabel(/不予退費/).check();
      await holder.getByRole('button', { name: '前往付款' }).click();
      // Refused in the page: still here, and the field has the focus so the holder can fix it.
      expect(holder.url()).toMatch(/\/portal\/payment$/);
      expect(await holder.locator(':focus').getAttribute('id')).toBe('pay-carrier');
      await shotBoth(holder, 'portal-payment-invalid-barcode');

      await barcode.fill('/ABC+123');
      await expect(error.textContent()).resolves.toBe('');
      await holder.getByRole('button', { name: '前往付款' }).click();
      await holder.waitForURL(/\/sandbox\/gateway\/checkout/);
      expect(await holder.textContent('body')).toContain('NT$278');
      await screenshot(holder, 'sandbox-checkout');
      await holder.getByRole('button', { name: /Simulate approved payment/ }).click();
      await holder.getByText(/acknowledged the callback/).waitFor();
      await holder.getByRole('link', { name: /Back to the portal/ }).click();
      // The gateway's return URL is the portal (its order page, or its home page with the way in).
      await holder.waitForURL((u) => !u.pathname.startsWith('/sandbox/'));
      if (!/^\/portal(\/order)?$/.test(new URL(holder.url()).pathname)) {
        await holder.getByRole('link', { name: '我的申請' }).first().click();
      }
      await holder.waitForURL(/\/portal(\/order)?$/);
    },
    SLOW,
  );

  it(
    'follows the order to issued, then mailed with the registered-mail number',
    async () => {
      await holder.waitForSelector(
        '#order-status-now [data-status="issued"], #order-status-now [data-status="personalized"], #order-status-now [data-status="mailed"]',
        { timeout: 120_000 },
      );
      await holder.locator('#card-number').waitFor();
      // The card personalization bureau writes the card and hands it to the post office.
      await holder.waitForSelector('#order-status-now [data-status="mailed"]', { timeout: 120_000 });
      expect(await holder.locator('#tracking-number').textContent()).toMatch(/^[0-9A-Z]{10,20}$/);
      await shotBoth(holder, 'portal-order-mailed');
    },
    SLOW,
  );

  it(
    'suspends and resumes the card, and the public query shows it',
    async () => {
      cardNumber = (await holder.locator('#card-number').textContent())!.trim();
      const query = (expected: 'good' | 'hold') => publicQuery(holder, cardNumber, expected);
      await query('good');
      await shotBoth(holder, 'status-query');

      const act = async (action: RegExp) => {
        await holder.goto(`/portal/card?card=${cardNumber}`);
        await holder.getByLabel(action).check();
        await holder.getByLabel(/^用戶代碼/).fill(created.main!.code);
        await holder.locator('form button[type=submit]').click();
        await holder.locator('#card-result').waitFor();
      };
      await act(/^暫禁（停用憑證）/);
      expect(await holder.locator('#card-result').textContent()).toContain('暫禁');
      await shotBoth(holder, 'portal-card-suspended');
      await query('hold');
      await act(/^恢復使用/);
      await query('good');
    },
    SLOW,
  );

  it(
    'explains activation and PIN unblock with the card client command, and offers code retrieval',
    async () => {
      await holder.goto('/portal/card-client');
      expect(await holder.textContent('main')).toContain('npm run card -- activate');
      await shotBoth(holder, 'portal-card-client');
      await holder.goto('/portal/subscriber-code');
      // The locked applicant asks for the initial code again: it goes to the e-mail given at the counter.
      const mailsTo = async (who: string) => {
        const files = (await readdir(stack.outbox).catch(() => [] as string[])).filter((f) =>
          f.endsWith('.eml'),
        );
        const texts = await Promise.all(files.map((f) => readFile(join(stack.outbox, f), 'utf8')));
        return texts.filter((t) => t.includes(who)).length;
      };
      const before = await mailsTo(lockedApplicant.email);
      await holder.getByLabel(/居留證統一證號/).fill(lockedApplicant.arc);
      await holder.getByLabel(/電子郵件/).fill(lockedApplicant.email);
      await holder.getByRole('button', { name: '寄給我' }).click();
      await holder.locator('#retrieve-result').waitFor();
      expect(await mailsTo(lockedApplicant.email)).toBe(before + 1);
      await shotBoth(holder, 'portal-subscriber-code');
      await holder.goto('/');
      await shotBoth(holder, 'home');
    },
    SLOW,
  );
});

describe('station officer, after issuance', () => {
  it(
    'sees the application mailed and revokes the card at the counter; the public query shows it revoked',
    async () => {
      await officer.goto(`/station/applications?id=${created.main!.id}`);
      const status = officer.locator('#lookup-status');
      await status.waitFor();
      expect(await status.getAttribute('data-status')).toBe('mailed');
      expect(await officer.locator('main').textContent()).toContain(cardNumber);

      await publicQuery(officer, cardNumber, 'good');
      const serial = (await officer.locator('#query-table code.serial').first().textContent())!.trim();
      await officer.goto(`/station/revocation?serial=${serial}`);
      await officer.getByLabel(/廢止原因/).selectOption('keyCompromise');
      await officer.getByRole('button', { name: '廢止…' }).click();
      await officer.locator('#revoke-confirm').waitFor();
      await shotBoth(officer, 'station-revocation');
      await officer.getByRole('button', { name: '確定廢止' }).click();
      await officer.locator('#revoke-result').waitFor();
      expect(await officer.locator('#revoke-result').textContent()).toContain(cardNumber);
      await publicQuery(officer, cardNumber, 'revoked');
    },
    SLOW,
  );
});
