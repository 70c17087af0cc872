import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Browser plumbing for the front-end tests: Debian's Chromium driven by playwright-core (never a
 * browser download), one browser per test file, screenshots to test-output/ (git-ignored) and, with
 * SAVE_DOC_SCREENSHOTS=1, a copy under docs/screenshots/ for the README.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives every launch a fresh, empty profile (user-data-dir) of its own.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });

/** A phone-sized page (375×667, touch) or a desktop one, in the given language. */
export const newContext = (
  browser: Browser,
  opts: { phone?: boolean; lang?: 'zh-TW' | 'en'; baseURL: string },
): Promise<BrowserContext> =>
  browser.newContext({
    baseURL: opts.baseURL,
    locale: opts.lang ?? 'zh-TW',
    timezoneId: 'Asia/Taipei',
    acceptDownloads: true,
    ...(opts.phone
      ? { viewport: { width: 375, height: 667 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true }
      : { viewport: { width: 1100, height: 900 } }),
  });

const OUT = join(process.cwd(), 'test-output', 'screenshots');
const DOCS = join(process.cwd(), 'docs', 'screenshots');

/** Full-page screenshot `<name>.png`; returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  await mkdir(OUT, { recursive: true });
  const path = join(OUT, `${name}.png`);
  // The countdown ticks every second; hide the caret and animations so images are stable.
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  if (process.env.SAVE_DOC_SCREENSHOTS === '1') {
    await mkdir(DOCS, { recursive: true });
    await copyFile(path, join(DOCS, `${name}.png`));
  }
  return path;
};

/**
 * The little of the DOM that page-side callbacks use: the test project's types have no DOM lib, and a
 * string predicate would need eval, which the app's Content-Security-Policy rightly forbids.
 */
interface PageElement {
  id: string;
  type?: string;
  tagName: string;
  textContent: string | null;
  labels?: ArrayLike<unknown> | null;
  getAttribute(name: string): string | null;
}
export interface PageGlobals {
  document: {
    documentElement: { lang: string; scrollWidth: number; clientWidth: number };
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
  };
}

/**
 * Checks a person relies on without thinking: every form control in the page has a label (or an
 * aria-label), and nothing is wider than the screen (no sideways scrolling on a phone).
 */
export const checkPage = async (page: Page): Promise<{ unlabelled: string[]; overflow: number }> =>
  page.evaluate(() => {
    const doc = (globalThis as unknown as PageGlobals).document;
    const unlabelled = Array.from(doc.querySelectorAll('input, select, textarea'))
      .filter((el) => el.type !== 'hidden')
      .filter((el) => !(el.labels && el.labels.length > 0) && !el.getAttribute('aria-label'))
      .map((el) => `${el.tagName.toLowerCase()}#${el.id}`);
    return { unlabelled, overflow: doc.documentElement.scrollWidth - doc.documentElement.clientWidth };
  });

/** Switches the page's language with the header's switch (as a person would). */
export const switchLanguage = async (page: Page, lang: 'zh-TW' | 'en') => {
  await page.getByRole('button', { name: lang === 'en' ? 'English' : '中文' }).click();
  await page.waitForFunction(
    (l) => (globalThis as unknown as PageGlobals).document.documentElement.lang === l,
    lang === 'en' ? 'en' : 'zh-Hant-TW',
  );
};
