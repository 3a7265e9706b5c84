import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';

const config = [
  ...nextVitals,
  ...nextTs,
  { ignores: ['node_modules/**', '.next/**', '.device-kit/**', 'generated/**', 'data/**', 'next-env.d.ts', 'bench/results/**'] },
];
export default config;
