import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { en, type MessageKey, type Messages } from './en.ts';
import { zh } from './zh.ts';

export type Lang = 'zh-CN' | 'en';
const DICTIONARIES: Record<Lang, Messages> = { 'zh-CN': zh, en };
const STORAGE_KEY = 'tollgate.lang';

/** zh-CN unless the visitor chose otherwise, or the browser prefers English over Chinese. */
export function initialLang(storage: Pick<Storage, 'getItem'> = localStorage, languages = navigator.languages): Lang {
  const saved = storage.getItem(STORAGE_KEY);
  if (saved === 'zh-CN' || saved === 'en') return saved;
  for (const language of languages) {
    if (/^zh\b/i.test(language)) return 'zh-CN';
    if (/^en\b/i.test(language)) return 'en';
  }
  return 'zh-CN';
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const messages = DICTIONARIES[lang];
  return (key, params = {}) => messages[key].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ''));
}

interface I18n {
  lang: Lang;
  t: Translate;
  setLang: (lang: Lang) => void;
}

const I18nContext = createContext<I18n>({ lang: 'zh-CN', t: translator('zh-CN'), setLang: () => undefined });

export function I18nProvider({ children, lang: fixed }: { children: ReactNode; lang?: Lang }) {
  const [lang, setLangState] = useState<Lang>(() => fixed ?? initialLang());
  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(STORAGE_KEY, next);
    document.documentElement.lang = next;
    setLangState(next);
  }, []);
  const value = useMemo(() => ({ lang, t: translator(lang), setLang }), [lang, setLang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/** The language the API is asked to answer in (its messages follow Accept-Language). */
let apiLang: Lang = 'zh-CN';
export const currentApiLang = (): Lang => apiLang;
export const setApiLang = (lang: Lang): void => {
  apiLang = lang;
};
