// The web UI's build: one ES module bundle and one stylesheet under dist/assets/, hashed names,
// no inline scripts or styles (the server's Content-Security-Policy allows 'self' only).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    // dist/ui: dist/test holds the compiled browser tests, which a UI build must not delete.
    outDir: 'dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Inlined assets would be data: URLs in scripts and styles; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
