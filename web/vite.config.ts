import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Where `npm run console:dev` sends the API: a Tollgate started with `npm run dev` (PORT 3000 by default). */
const api = process.env.TOLLGATE_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`;

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // `@/…` is web/src/…: imports name where a module lives, not how many folders up it is.
  resolve: { alias: { '@/': `${import.meta.dirname}/src/` } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Route chunks are loaded on demand; the first page's size is checked by `npm run console:size`.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(['/api', '/v1', '/health'].map((path) => [path, { target: api, changeOrigin: false }])),
  },
});
