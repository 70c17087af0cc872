import i18next from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { useEffect, useState } from 'preact/hooks';
import { en } from './locales/en.js';
import { zhTW } from './locales/zh-TW.js';

/**
 * Traditional Chinese (Taiwan) first, English second. The choice comes from `?lang=`, then what the
 * person chose before (localStorage), then the browser; it is remembered when switched.
 */
export const LANGUAGES = [
  { code: 'zh-TW', label: '中文', htmlLang: 'zh-Hant-TW' },
  { code: 'en', label: 'English', htmlLang: 'en' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];

export const i18n = i18next.createInstance();

export const initI18n = async (): Promise<void> => {
  await i18n.use(LanguageDetector).init({
    resources: { 'zh-TW': { translation: zhTW }, en: { translation: en } },
    supportedLngs: ['zh-TW', 'en'],
    nonExplicitSupportedLngs: false,
    load: 'currentOnly',
    fallbackLng: { zh: ['zh-TW'], default: ['zh-TW'] },
    detection: {
      order: ['querystring', 'localStorage', 'navigator'],
      lookupQuerystring: 'lang',
      lookupLocalStorage: 'acdc.lang',
      caches: ['localStorage'],
      convertDetectedLanguage: (lng: string) => (lng.toLowerCase().startsWith('zh') ? 'zh-TW' : lng),
    },
    interpolation: { escapeValue: false }, // Preact escapes text
    returnNull: false,
  });
  syncDocument();
  i18n.on('languageChanged', syncDocument);
};

const syncDocument = () => {
  const lang = LANGUAGES.find((l) => l.code === currentLanguage());
  document.documentElement.lang = lang?.htmlLang ?? 'zh-Hant-TW';
  document.title = i18n.t('app.title');
};

export const currentLanguage = (): Language => (i18n.resolvedLanguage === 'en' ? 'en' : 'zh-TW');

export type Translate = (key: string, values?: Record<string, unknown>) => string;

/** Keys are built at run time (statuses, rules), so `t` takes any string and falls back to the key. */
export const translate: Translate = (key, values) => i18n.t(key, values ?? {}) as string;

/** `t` for components; the component re-renders when the language changes. */
export const useT = () => {
  const [, setLang] = useState(currentLanguage());
  useEffect(() => {
    const onChange = () => setLang(currentLanguage());
    i18n.on('languageChanged', onChange);
    return () => i18n.off('languageChanged', onChange);
  }, []);
  return translate;
};

/** Dates and times as a person in Taiwan reads them: always in Taipei time, whatever the device says. */
export const formatDateTime = (iso: string): string =>
  new Intl.DateTimeFormat(currentLanguage() === 'en' ? 'en-GB' : 'zh-TW', {
    timeZone: 'Asia/Taipei',
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(new Date(iso));

export const formatDate = (iso: string): string =>
  new Intl.DateTimeFormat(currentLanguage() === 'en' ? 'en-GB' : 'zh-TW', {
    timeZone: 'Asia/Taipei',
    dateStyle: 'medium',
  }).format(new Date(iso.length === 10 ? `${iso}T12:00:00+08:00` : iso));

export const formatMoney = (amount: number): string =>
  `NT$${new Intl.NumberFormat(currentLanguage() === 'en' ? 'en' : 'zh-TW').format(amount)}`;
