import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findCjkFont, renderApplicationForm } from '../../shared/documents/application-form.js';
import { InternalError } from '../../shared/errors.js';
import { SAMPLE_FORM } from './sample-form.js';

const run = promisify(execFile);

/** Text of a PDF as poppler's pdftotext reads it (Debian poppler-utils, installed by .ci/run). */
const pdfText = async (pdf: Uint8Array): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'form-'));
  const file = join(dir, 'form.pdf');
  await writeFile(file, pdf);
  const { stdout } = await run('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-']);
  return stdout;
};

const input = SAMPLE_FORM;

describe('printable application form (PDF)', () => {
  it('finds a CJK font on this machine (Debian fonts-droid-fallback)', () => {
    expect(findCjkFont()).toBeDefined();
  });

  it('is a PDF whose text holds the code, the fee breakdown, the deadline and the bilingual labels', async () => {
    const pdf = await renderApplicationForm(input, { createdAt: new Date('2026-11-23T05:00:00Z') });
    expect(Buffer.from(pdf.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
    expect(pdf.byteLength).toBeLessThan(200_000); // the CJK font is subset, not embedded whole
    const text = await pdfText(pdf);
    expect(text).toContain('K7m2Qx9P');
    expect(text).toMatch(/NT\$250/);
    expect(text).toMatch(/NT\$28\b/);
    expect(text).toMatch(/合計 Total\s+NT\$278/);
    expect(text).toContain('2026-12-08 23:59:59');
    expect(text).toContain('app_01JD8Z4Q0000000000000000');
    expect(text).toContain('TPE01');
    expect(text).toContain('2026-11-23');
    expect(text).toContain('陳大文 CHEN, Da-Wen');
    expect(text).toContain('******5678');
    expect(text).toContain('用戶代碼 Subscriber code');
    expect(text).toContain('繳費期限 Payment deadline');
    expect(text).toContain('申請書');
    expect(text).toContain('Application Form');
  });

  it('mentions the live card the new one replaces', async () => {
    const text = await pdfText(
      await renderApplicationForm({ ...input, replacesCardNumber: 'AB12345678901234' }),
    );
    expect(text).toContain('AB12345678901234');
  });

  it('says which font to install when none is found', async () => {
    await expect(
      renderApplicationForm(input, { cjkFontPath: '/nonexistent/font.ttf' }),
    ).rejects.toBeInstanceOf(InternalError);
  });
});
