/** A setting (flag, HOTSPAN_* variable, config file entry) that cannot be used: a usage error (exit 64). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
