/** `npm run build:app`: builds the clinic app into dist/ and prints its size against the budget. */
import { buildClinicApp, CLINIC_APP_BUDGET_BYTES } from '../devkit/src/build-app.js';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const built = await buildClinicApp();
for (const file of built.files)
  console.log(`  ${file.file.padEnd(36)} ${kb(file.bytes).padStart(9)}  ${kb(file.gzipBytes).padStart(8)} gzipped`);
console.log(`clinic app: ${kb(built.gzipBytes)} gzipped (budget ${kb(CLINIC_APP_BUDGET_BYTES)}) → ${built.outDir}`);
if (built.gzipBytes > CLINIC_APP_BUDGET_BYTES) {
  console.error('clinic app: over the size budget');
  process.exit(1);
}
