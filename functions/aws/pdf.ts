/**
 * What a function that renders PDFs (the station's application form) carries next to its bundle. No
 * imports: the CDK app reads this file to copy the same files into the asset (infra/constructs/function.ts).
 *
 * - pdfkit loads its standard fonts (Helvetica, Courier) at run time with `require('#standard-fonts/…')`
 *   relative to its own package, which a bundle is not: the asset gets those files and a package.json
 *   whose `imports` maps `#standard-fonts/*` to them.
 * - the CJK font of the form (Traditional Chinese glyphs) is a file, found next to the bundle.
 */
export const PDF_ASSET = {
  cjkFont: 'fonts/cjk.ttf',
  standardFontsDir: 'standard-fonts',
} as const;

/** The CJK font the build copies, first found wins (Debian fonts-droid-fallback, as CI installs). */
export const CJK_FONT_SOURCES = [
  '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf',
  '/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf',
] as const;
