import { matchesSecret, secretDigest } from '../security/secret-digest.ts';
import type { Config } from '../config.ts';

// The deployment's operator credentials: OPERATOR_TOKEN (a bearer token for tools), and
// OPERATOR_USER/OPERATOR_PASSWORD (HTTP basic auth for browsers; any user name with OPERATOR_TOKEN as
// the password works too). They open Bull Board and, for a tenant the operator names, the API.

export type OperatorCredentials = {
  /** Whether any operator credential is configured. */
  configured: boolean;
  /** Whether this bearer token is OPERATOR_TOKEN. */
  isToken(token: string): boolean;
  /** Who an Authorization header signs in as (`token` or the user name), or null when it is not an operator's. */
  check(header: string): string | null;
};

export function operatorCredentials(
  config: Pick<Config, 'OPERATOR_TOKEN' | 'OPERATOR_USER' | 'OPERATOR_PASSWORD'>,
): OperatorCredentials {
  const token = config.OPERATOR_TOKEN ? secretDigest(config.OPERATOR_TOKEN) : null;
  const user = config.OPERATOR_USER ? secretDigest(config.OPERATOR_USER) : null;
  const password = config.OPERATOR_PASSWORD ? secretDigest(config.OPERATOR_PASSWORD) : null;
  const isToken = (given: string) => matchesSecret(given, token);

  return {
    configured: token !== null || (user !== null && password !== null),
    isToken,
    check(header: string): string | null {
      const bearer = /^Bearer (\S+)$/i.exec(header);
      if (bearer) return isToken(bearer[1]!) ? 'token' : null;
      const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
      if (!basic) return null;
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return null;
      const name = decoded.slice(0, colon);
      const givenPassword = decoded.slice(colon + 1);
      // Both comparisons always run, so timing does not tell which half was wrong.
      const asUser =
        user !== null && password !== null && and(matchesSecret(name, user), matchesSecret(givenPassword, password));
      const asToken = matchesSecret(givenPassword, token);
      if (asUser) return name;
      return asToken ? 'token' : null;
    },
  };
}

function and(a: boolean, b: boolean): boolean {
  return a && b;
}
