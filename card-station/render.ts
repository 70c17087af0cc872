import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { MailingAddress } from '../shared/domain/model.js';

/**
 * The printed parts of a card order: the card face (ID-1, 85.60 × 53.98 mm at 300 dpi = 1012 × 638 px)
 * with card number, holder name and expiry, and the registered-mail label (4 × 6 in at 300 dpi =
 * 1200 × 1800 px) with the address and tracking number. PNG, drawn with @napi-rs/canvas (Skia); text in
 * DejaVu Sans with Noto Sans CJK as the fallback for Chinese, Japanese and Korean names and addresses
 * (Debian packages fonts-dejavu-core and fonts-noto-cjk).
 */

export const CARD_FACE_SIZE = { width: 1012, height: 638 } as const;
export const LABEL_SIZE = { width: 1200, height: 1800 } as const;

const SANS = '"DejaVu Sans", "Noto Sans CJK TC", "Noto Sans CJK JP", sans-serif';
const MONO = '"DejaVu Sans Mono", monospace';

/** Largest font size (down to `min`) at which `text` fits `maxWidth`; lines wrapped at `min` if needed. */
const fitLines = (
  g: SKRSContext2D,
  text: string,
  opts: { family: string; weight?: string; max: number; min: number; maxWidth: number; maxLines?: number },
): { size: number; lines: string[] } => {
  const font = (size: number) => `${opts.weight ?? ''} ${size}px ${opts.family}`.trim();
  for (let size = opts.max; size >= opts.min; size -= 2) {
    g.font = font(size);
    if (g.measureText(text).width <= opts.maxWidth) return { size, lines: [text] };
  }
  // Still too long at the smallest size: wrap (by words, or by characters for text without spaces).
  g.font = font(opts.min);
  const tokens = text.includes(' ') ? text.split(/(?<= )/) : [...text];
  const lines: string[] = [];
  let line = '';
  for (const t of tokens) {
    if (line && g.measureText(line + t).width > opts.maxWidth) {
      lines.push(line.trimEnd());
      line = t.trimStart();
    } else line += t;
  }
  if (line) lines.push(line.trimEnd());
  const maxLines = opts.maxLines ?? 2;
  if (lines.length > maxLines) throw new Error(`text does not fit in ${maxLines} lines`);
  return { size: opts.min, lines };
};

const roundRect = (g: SKRSContext2D, x: number, y: number, w: number, h: number, r: number) => {
  g.beginPath();
  g.moveTo(x + r, y);
  g.arcTo(x + w, y, x + w, y + h, r);
  g.arcTo(x + w, y + h, x, y + h, r);
  g.arcTo(x, y + h, x, y, r);
  g.arcTo(x, y, x + w, y, r);
  g.closePath();
};

export interface CardFace {
  cardNumber: string;
  holderName: string;
  /** YYYY-MM-DD */
  expiry: string;
}

export const renderCardFace = (face: CardFace): Buffer => {
  const { width: W, height: H } = CARD_FACE_SIZE;
  const canvas = createCanvas(W, H);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, W, H);

  // Card body with rounded corners (3.18 mm radius ≈ 38 px) and a soft background.
  roundRect(g, 2, 2, W - 4, H - 4, 38);
  const bg = g.createLinearGradient(0, 0, W, H);
  bg.addColorStop(0, '#e8f1fb');
  bg.addColorStop(1, '#d3e6f5');
  g.fillStyle = bg;
  g.fill();
  g.lineWidth = 3;
  g.strokeStyle = '#7d9bb8';
  g.stroke();

  // Header band.
  g.fillStyle = '#1f4e79';
  g.fillRect(2, 40, W - 4, 96);
  g.fillStyle = '#ffffff';
  g.font = `bold 40px ${SANS}`;
  g.fillText('外來人口自然人憑證', 40, 92);
  g.font = `24px ${SANS}`;
  g.fillText('Alien Citizen Digital Certificate', 40, 124);

  // Contact chip.
  roundRect(g, 60, 180, 140, 110, 16);
  g.fillStyle = '#d9b44a';
  g.fill();
  g.strokeStyle = '#8a6d1d';
  g.lineWidth = 3;
  g.stroke();
  g.beginPath();
  for (const y of [217, 253]) {
    g.moveTo(60, y);
    g.lineTo(200, y);
  }
  g.moveTo(130, 180);
  g.lineTo(130, 290);
  g.stroke();

  // Holder name and expiry.
  g.fillStyle = '#2b3a4a';
  g.font = `22px ${SANS}`;
  g.fillText('姓名 Name', 240, 200);
  const name = fitLines(g, face.holderName, {
    family: SANS,
    weight: 'bold',
    max: 46,
    min: 26,
    maxWidth: W - 280,
  });
  g.fillStyle = '#0b1b2b';
  g.font = `bold ${name.size}px ${SANS}`;
  name.lines.forEach((line, i) => {
    g.fillText(line, 240, 250 + i * (name.size + 8));
  });
  g.fillStyle = '#2b3a4a';
  g.font = `22px ${SANS}`;
  g.fillText('有效期限 Valid until', 240, 350);
  g.fillStyle = '#0b1b2b';
  g.font = `bold 40px ${MONO}`;
  g.fillText(face.expiry, 240, 396);

  // Card number on a white strip, large and monospaced (read by people, scanners and our OCR check).
  g.fillStyle = '#ffffff';
  g.fillRect(40, 450, W - 80, 120);
  g.fillStyle = '#2b3a4a';
  g.font = `20px ${SANS}`;
  g.fillText('卡號 Card No.', 60, 478);
  g.fillStyle = '#000000';
  g.font = `bold 64px ${MONO}`;
  g.fillText(face.cardNumber, 60, 550);

  return canvas.toBuffer('image/png');
};

export interface MailingLabel {
  trackingNumber: string;
  address: MailingAddress;
  sender: string[];
  /** Locally the post office is simulated: the label says so in large letters. */
  simulated: boolean;
}

export const renderMailingLabel = (label: MailingLabel): Buffer => {
  const { width: W, height: H } = LABEL_SIZE;
  const canvas = createCanvas(W, H);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, W, H);
  g.strokeStyle = '#000000';
  g.lineWidth = 6;
  g.strokeRect(20, 20, W - 40, H - 40);

  // Registered-mail block: "R" mark, service name and the S10 number.
  g.fillStyle = '#000000';
  g.fillRect(60, 60, 200, 200);
  g.fillStyle = '#ffffff';
  g.font = `bold 170px ${SANS}`;
  g.fillText('R', 100, 225);
  g.fillStyle = '#000000';
  g.font = `bold 64px ${SANS}`;
  g.fillText('掛號 REGISTERED', 300, 140);
  g.font = `34px ${SANS}`;
  g.fillText(label.simulated ? 'Local post office (simulated)' : '中華郵政 Chunghwa Post', 300, 200);
  g.font = `bold 92px ${MONO}`;
  g.fillText(label.trackingNumber, 60, 400);

  if (label.simulated) {
    g.fillStyle = '#b00020';
    g.font = `bold 40px ${SANS}`;
    g.fillText('SIMULATED POST OFFICE — NOT A REAL', 60, 480);
    g.fillText('REGISTERED-MAIL NUMBER', 60, 530);
  }

  // Sender.
  g.fillStyle = '#000000';
  g.font = `28px ${SANS}`;
  g.fillText('寄件人 From', 60, 620);
  label.sender.forEach((line, i) => {
    g.fillText(line, 60, 665 + i * 40);
  });
  g.lineWidth = 3;
  g.beginPath();
  g.moveTo(40, 820);
  g.lineTo(W - 40, 820);
  g.stroke();

  // Recipient: postal code, city, lines, name, phone.
  const a = label.address;
  g.font = `32px ${SANS}`;
  g.fillText('收件人 To', 60, 900);
  g.font = `bold 84px ${MONO}`;
  g.fillText(a.postalCode, 60, 1010);
  let y = 1110;
  for (const text of [a.city, a.line1, a.line2].filter((t): t is string => !!t)) {
    const fit = fitLines(g, text, { family: SANS, max: 56, min: 36, maxWidth: W - 140, maxLines: 3 });
    g.font = `${fit.size}px ${SANS}`;
    for (const line of fit.lines) {
      g.fillText(line, 60, y);
      y += fit.size + 18;
    }
  }
  if (a.recipient) {
    const fit = fitLines(g, `${a.recipient} 收`, {
      family: SANS,
      weight: 'bold',
      max: 64,
      min: 36,
      maxWidth: W - 140,
    });
    g.font = `bold ${fit.size}px ${SANS}`;
    y += 20;
    for (const line of fit.lines) {
      g.fillText(line, 60, y);
      y += fit.size + 18;
    }
  }
  if (a.phone) {
    g.font = `36px ${SANS}`;
    g.fillText(`Tel. ${a.phone}`, 60, Math.min(y + 20, H - 80));
  }
  return canvas.toBuffer('image/png');
};

/** Width and height of a PNG from its IHDR chunk. */
export const pngSize = (png: Uint8Array): { width: number; height: number } => {
  const b = Buffer.from(png);
  if (
    b.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a' ||
    b.subarray(12, 16).toString('latin1') !== 'IHDR'
  ) {
    throw new Error('not a PNG');
  }
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
};
