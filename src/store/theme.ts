// Light / dark / follow-the-system, remembered across reloads.
import { create } from 'zustand';
import { persist } from 'zustand/middleware';

export type Theme = 'system' | 'light' | 'dark';

interface ThemeState {
  theme: Theme;
  setTheme(t: Theme): void;
}

export const useTheme = create<ThemeState>()(
  persist(
    (set) => ({
      theme: 'system',
      setTheme(theme) {
        set({ theme });
      },
    }),
    { name: 'lora-studio.theme' },
  ),
);
