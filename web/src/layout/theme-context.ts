import { createContext, useContext } from 'react';
import type { ThemeMode } from '@/prefs.ts';

export const ThemeContext = createContext<{ mode: ThemeMode; toggle: () => void }>({
  mode: 'light',
  toggle: () => undefined,
});
export const useThemeMode = () => useContext(ThemeContext);
