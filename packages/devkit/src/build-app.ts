/**
 * The clinic app's build (packages/clinic-app → its dist/): one esbuild bundle
 * of JavaScript and one of CSS, named by content hash (served immutable), and an
 * index.html that points at them (served no-cache). Self-contained on purpose:
 * only esbuild and node builtins, so the Dockerfile's build stage runs it without
 * the rest of devkit.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const clinicAppRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../clinic-app');
/** The budget for the whole app, gzipped. */
export const CLINIC_APP_BUDGET_BYTES = 120 * 1024;

export type ClinicAppBuild = {
  outDir: string;
  files: { file: string; bytes: number; gzipBytes: number }[];
  gzipBytes: number;
};

export async function buildClinicApp(options: { outDir?: string } = {}): Promise<ClinicAppBuild> {
  const outDir = options.outDir ?? path.join(clinicAppRoot, 'dist');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: clinicAppRoot,
    entryPoints: ['src/main.tsx'],
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.resolve(clinicAppRoot, file));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  if (!script || !style) throw new Error('the clinic app build produced no script or no stylesheet');
  const url = (file: string) => `/app/assets/${path.basename(file)}`;
  const html = readFileSync(path.join(clinicAppRoot, 'src/index.html'), 'utf8')
    .replace('%SCRIPT%', url(script))
    .replace('%STYLE%', url(style));
  writeFileSync(path.join(outDir, 'index.html'), html);
  const files = [path.join(outDir, 'index.html'), ...outputs].map((file) => {
    const content = readFileSync(file);
    return { file: path.relative(outDir, file), bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
  });
  return { outDir, files, gzipBytes: files.reduce((sum, file) => sum + file.gzipBytes, 0) };
}
