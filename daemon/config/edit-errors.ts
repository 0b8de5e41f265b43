// Why an edit of the config file was refused, as error classes the web API maps to HTTP answers (409, 422, ...).
// They live apart from the edit itself because the path helpers and the edit both throw them.

/** The file changed since the editor loaded it (another admin, a hand edit): load it again. */
export class StaleConfigError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super("the configuration file was changed since it was loaded; load it again and repeat the edit");
    this.name = "StaleConfigError";
  }
}

/** The edit would leave an invalid config (or could not be made): every problem with its path. Nothing was written. */
export class InvalidConfigError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(`the configuration is not valid: ${problems.map((p) => `${p.path || "(root)"}: ${p.message}`).join("; ")}`);
    this.name = "InvalidConfigError";
  }
}

/** The file was valid but the daemon refused it (e.g. agents did not compile); the previous file is back. */
export class ConfigApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigApplyError";
  }
}
