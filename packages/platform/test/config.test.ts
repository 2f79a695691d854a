import { z } from 'zod';
import { ConfigError, loadConfig } from '../src/config.js';

const env = { APP_ID: 'patient-service', APP_PORT: '8080', DAPR_HTTP_PORT: '3500' };

describe('loadConfig', () => {
  it('parses the base settings and applies defaults', () => {
    const config = loadConfig(undefined, env);
    expect(config).toMatchObject({
      APP_ID: 'patient-service',
      APP_PORT: 8080,
      DAPR_HTTP_PORT: 3500,
      PUBSUB_NAME: 'events',
      SECRET_STORE_NAME: 'secretstore',
    });
  });

  it('adds service-specific settings', () => {
    const config = loadConfig({ RETENTION_DAYS: z.coerce.number().int().positive() }, { ...env, RETENTION_DAYS: '30' });
    expect(config.RETENTION_DAYS).toBe(30);
  });

  it('fails fast naming every bad variable and its value', () => {
    expect.assertions(4);
    try {
      loadConfig(undefined, { APP_ID: 'x', APP_PORT: 'eighty', LOG_LEVEL: 'loud' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('APP_PORT');
      expect(message).toContain('DAPR_HTTP_PORT');
      expect(message).toMatch(/LOG_LEVEL.*"loud"/);
    }
  });
});
