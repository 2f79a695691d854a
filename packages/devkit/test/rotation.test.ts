import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registryOf } from '../src/rotation.js';
import { nameResolutionDb } from '../src/paths.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rotation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configuration(connectionString: string): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      'kind: Configuration',
      'spec:',
      '  nameResolution:',
      '    component: sqlite',
      '    configuration:',
      `      connectionString: "${connectionString}"`,
    ].join('\n'),
  );
  return file;
}

it('expands ${VAR} in the registry path as daprd does, from the sidecars environment by default', () => {
  // The launcher's own Configurations name the registry by variable: without expansion, rotation
  // would open a file literally called "${CAREGRID_NAME_RESOLUTION_DB}" and find no table.
  expect(registryOf(configuration('${CAREGRID_NAME_RESOLUTION_DB}'))).toEqual({ file: nameResolutionDb, table: 'hosts' });
  expect(registryOf(configuration('file:${DB}?cache=shared'), { DB: '/tmp/x/registry.db' })).toEqual({
    file: '/tmp/x/registry.db',
    table: 'hosts',
  });
});
