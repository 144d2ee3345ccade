import { AppError, ConfigError, StartupError } from '../../src/errors';

describe('error hierarchy', () => {
  test('when the configuration is bad, then the error is a start-up error with a code and no HTTP status', () => {
    const err = new ConfigError('invalid environment:\n  PORT: must be a number');
    expect(err).toBeInstanceOf(StartupError);
    expect(err).not.toBeInstanceOf(AppError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.name).toBe('ConfigError');
    expect(Object.keys(err)).not.toContain('status');
  });
});
