/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The platform's ingress (Envoy) serves both the UI and the gRPC-Web API on
// one origin; in development Vite serves the UI and forwards API paths there.
const platform = process.env.AIRIS_PLATFORM_URL ?? 'http://127.0.0.1:8080';
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '^/airis\\..*': { target: platform, changeOrigin: false },
      '^/grpc\\..*': { target: platform, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    manifest: true,
    chunkSizeWarningLimit: 700,
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
