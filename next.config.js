/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // Native and WASM-heavy packages stay outside the server bundle.
  serverExternalPackages: ['better-sqlite3', '@prisma/client', '@prisma/adapter-better-sqlite3', '@prisma/adapter-pg', 'pg', 'webgpu'],
  poweredByHeader: false,
  // The engine's bundled text corpus and WGSL sources are read at build time as strings.
  turbopack: {},
};
export default nextConfig;
