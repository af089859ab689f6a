/** The visitor's theme choice, remembered in this browser (nothing secret is kept here). */
export type ThemeMode = 'light' | 'dark';
const THEME_KEY = 'tollgate.theme';

export function initialTheme(): ThemeMode {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function saveTheme(mode: ThemeMode): void {
  localStorage.setItem(THEME_KEY, mode);
}
