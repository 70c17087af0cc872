import { existsSync, readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { Fee } from '../domain/model.js';
import { InternalError } from '../errors.js';

/**
 * The printable application form the officer hands over at the counter: the only document that ever
 * shows the subscriber code. Bilingual labels (Traditional Chinese, then English).
 *
 * Fonts: Latin text uses PDF's built-in Helvetica / Courier (no file needed); Chinese needs a CJK font
 * file, subset-embedded. Locally and in CI that is Debian's `fonts-droid-fallback` (TrueType, CJK only,
 * so every line is split into CJK and Latin runs); `fonts-noto-cjk` works too. In Lambda the font file is
 * shipped with the function and named by `cjkFontPath`.
 */

export interface ApplicationFormInput {
  applicationId: string;
  stationId: string;
  officerId: string;
  /** Application day, `YYYY-MM-DD` (Taipei). */
  applicationDate: string;
  name: string;
  /** e.g. `******5678`: never the full ARC number. */
  arcMasked: string;
  subscriberCode: string;
  fee: Fee;
  /** ISO instant: 23:59:59 Taipei on the last day to pay. */
  paymentDeadline: string;
  portalUrl: string;
  /** When the holder already has a live card (revoked once the new one is issued). */
  replacesCardNumber?: string;
}

export interface ApplicationFormOptions {
  /** A TrueType/OpenType (or .ttc with `cjkFontFamily`) file with Traditional Chinese glyphs. */
  cjkFontPath?: string;
  cjkFontFamily?: string;
  /** Document creation time written into the PDF metadata. */
  createdAt?: Date;
}

/** Candidate CJK fonts, first found wins: [path, family inside a collection]. */
export const CJK_FONT_CANDIDATES: readonly (readonly [string, string | undefined])[] = [
  ['/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf', undefined],
  ['/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf', undefined],
  ['/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', 'NotoSansCJKtc-Regular'],
  ['/usr/share/fonts/truetype/arphic/uming.ttc', 'AR PL UMing TW'],
];

export const findCjkFont = (): { path: string; family?: string } | undefined => {
  for (const [path, family] of CJK_FONT_CANDIDATES)
    if (existsSync(path)) return family ? { path, family } : { path };
  return undefined;
};

const fontCache = new Map<string, Buffer>();
const loadFont = (path: string): Buffer => {
  let b = fontCache.get(path);
  if (!b) {
    b = readFileSync(path);
    fontCache.set(path, b);
  }
  return b;
};

/** Characters drawn with the CJK font: CJK ideographs, kana, full-width forms and CJK punctuation. */
const CJK_RUN = /([\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]+)/;
const isCjk = (s: string) => CJK_RUN.test(s);

type Doc = InstanceType<typeof PDFDocument>;
type LatinFont = 'Helvetica' | 'Helvetica-Bold' | 'Courier-Bold';

/** Lays out and draws text that mixes CJK and Latin runs, each in its font, on one baseline. */
class Writer {
  constructor(
    private readonly doc: Doc,
    private readonly cjk: string,
  ) {}

  private runs(text: string): string[] {
    return text.split(CJK_RUN).filter((r) => r.length > 0);
  }

  private use(run: string, size: number, latin: LatinFont): void {
    this.doc.font(isCjk(run) ? this.cjk : latin).fontSize(size);
  }

  width(text: string, size: number, latin: LatinFont = 'Helvetica'): number {
    let w = 0;
    for (const r of this.runs(text)) {
      this.use(r, size, latin);
      w += this.doc.widthOfString(r);
    }
    return w;
  }

  /** Draws one line with its baseline at y; returns the width drawn. */
  line(text: string, x: number, y: number, size: number, latin: LatinFont = 'Helvetica'): number {
    let cx = x;
    for (const r of this.runs(text)) {
      this.use(r, size, latin);
      this.doc.text(r, cx, y, { baseline: 'alphabetic', lineBreak: false });
      cx += this.doc.widthOfString(r);
    }
    return cx - x;
  }

  /** Wraps at spaces and between CJK characters to `maxWidth`; returns the y of the next line. */
  paragraph(text: string, x: number, y: number, size: number, maxWidth: number, leading = 1.45): number {
    // Units that may not be split: a Latin word with its trailing spaces, or a single CJK character.
    const units =
      text.match(
        /[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]+\s*|\s+/g,
      ) ?? [];
    let line = '';
    let cy = y;
    for (const u of units) {
      const next = line + u;
      if (line !== '' && this.width(next.trimEnd(), size) > maxWidth) {
        this.line(line.trimEnd(), x, cy, size);
        cy += size * leading;
        line = u.trimStart();
      } else line = next;
    }
    if (line.trim() !== '') {
      this.line(line.trimEnd(), x, cy, size);
      cy += size * leading;
    }
    return cy;
  }
}

const taipeiDateTime = (iso: string): string => {
  const t = new Date(new Date(iso).getTime() + 8 * 3600_000).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 19)}`;
};

const FEE_LABELS: Record<string, string> = {
  card: 'IC 卡製卡費 IC card',
  postage: '掛號郵寄處理費 Registered postage',
};

/** Renders the form; resolves to the PDF bytes. */
export const renderApplicationForm = async (
  input: ApplicationFormInput,
  opts: ApplicationFormOptions = {},
): Promise<Uint8Array> => {
  const font = opts.cjkFontPath
    ? { path: opts.cjkFontPath, family: opts.cjkFontFamily }
    : (findCjkFont() ?? undefined);
  if (!font || !existsSync(font.path))
    throw new InternalError(
      'no CJK font for the application form: install fonts-droid-fallback (Debian) or set cjkFontPath',
    );

  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: {
      Title: `外來人口自然人憑證申請書 Application form ${input.applicationId}`,
      Author: 'Alien Citizen Digital Certificate service',
      Subject: 'Application form',
      CreationDate: opts.createdAt ?? new Date(),
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    doc.on('error', reject);
  });

  if (font.family) doc.registerFont('cjk', loadFont(font.path), font.family);
  else doc.registerFont('cjk', loadFont(font.path));
  const w = new Writer(doc, 'cjk');
  const left = 50;
  const right = doc.page.width - 50;
  const width = right - left;

  // Title
  let y = 80;
  w.line('外來人口自然人憑證 申請書', left, y, 20, 'Helvetica-Bold');
  y += 24;
  w.line('Alien Citizen Digital Certificate — Application Form', left, y, 13, 'Helvetica-Bold');
  y += 14;
  doc.moveTo(left, y).lineTo(right, y).lineWidth(1).stroke();
  y += 24;

  // Application facts
  const rows: [string, string][] = [
    ['申請編號 Application no.', input.applicationId],
    ['受理服務站 Station', `${input.stationId}（承辦 officer ${input.officerId}）`],
    ['申請日期 Application date', input.applicationDate],
    ['申請人 Applicant', input.name],
    ['居留證統一證號 ARC no.', input.arcMasked],
  ];
  for (const [label, value] of rows) {
    w.line(label, left, y, 11);
    w.line(value, left + 190, y, 11, 'Helvetica-Bold');
    y += 20;
  }
  if (input.replacesCardNumber) {
    y = w.paragraph(
      `注意：申請人目前持有有效憑證卡（卡號 ${input.replacesCardNumber}），新卡簽發時舊卡憑證將被廢止。 Note: the applicant holds a live card (${input.replacesCardNumber}); it is revoked when the new card is issued.`,
      left,
      y,
      10,
      width,
    );
  }
  y += 10;

  // Subscriber code box
  const boxTop = y;
  const boxHeight = 96;
  doc.rect(left, boxTop, width, boxHeight).lineWidth(2).stroke();
  w.line('用戶代碼 Subscriber code', left + 14, boxTop + 24, 12, 'Helvetica-Bold');
  w.line(input.subscriberCode, left + 14, boxTop + 58, 26, 'Courier-Bold');
  w.line(
    '請妥善保管，勿告知他人；工作人員不會向您索取。 Keep it secret: staff will never ask for it.',
    left + 14,
    boxTop + 82,
    9,
  );
  y = boxTop + boxHeight + 30;

  // Fee
  w.line('應繳費用 Fee', left, y, 13, 'Helvetica-Bold');
  y += 20;
  for (const item of input.fee.items) {
    w.line(FEE_LABELS[item.code] ?? item.label, left + 10, y, 11);
    const amount = `NT$${item.amount}`;
    w.line(amount, right - w.width(amount, 11) - 10, y, 11);
    y += 18;
  }
  doc
    .moveTo(left + 10, y - 10)
    .lineTo(right - 10, y - 10)
    .lineWidth(0.5)
    .stroke();
  const total = `NT$${input.fee.total}`;
  w.line('合計 Total', left + 10, y + 4, 12, 'Helvetica-Bold');
  w.line(total, right - w.width(total, 12, 'Helvetica-Bold') - 10, y + 4, 12, 'Helvetica-Bold');
  y += 34;

  // Deadline and how to pay
  w.line('繳費期限 Payment deadline', left, y, 13, 'Helvetica-Bold');
  y += 22;
  w.line(
    `${taipeiDateTime(input.paymentDeadline)}（臺灣時間 Taipei time）`,
    left + 10,
    y,
    14,
    'Helvetica-Bold',
  );
  y += 26;
  y = w.paragraph(
    `請於期限前至 ${input.portalUrl} 「憑證申請查詢及繳費」，以居留證統一證號及上列用戶代碼登入，以信用卡繳費並確認郵寄地址；逾期未繳費，申請將自動刪除，須重新臨櫃申請。卡片約 7 至 10 個工作天以掛號寄達，收到後請上網開卡並設定 PIN 碼。`,
    left,
    y,
    10.5,
    width,
  );
  y += 6;
  y = w.paragraph(
    `Before the deadline, open ${input.portalUrl}, choose "Application status and payment", log in with your ARC number and the subscriber code above, pay by credit card and confirm your mailing address. Unpaid applications are deleted automatically; you would have to apply again at a station. The card arrives by registered mail in about 7 to 10 working days; then activate it online and set your PIN.`,
    left,
    y,
    10.5,
    width,
  );

  // Signature
  y = Math.max(y + 40, 740);
  doc
    .moveTo(right - 220, y)
    .lineTo(right, y)
    .lineWidth(0.5)
    .stroke();
  w.line('申請人簽名 Applicant signature', right - 220, y + 14, 9);

  doc.end();
  return done;
};
