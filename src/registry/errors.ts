/** Errors of the COUNTER Registry client, each with a stable code. */
export type RegistryErrorCode =
  /** HARVESTER_REGISTRY_URL is not an http(s) URL. */
  | 'REGISTRY_URL'
  /** No answer: refused, timed out, DNS, TLS, or an HTTP status that says "later" (5xx, 429). */
  | 'REGISTRY_UNREACHABLE'
  /** The registry has no record with this id. */
  | 'REGISTRY_NOT_FOUND'
  /** The answer is not what the registry API gives (not JSON, wrong shape, too large, other 4xx). */
  | 'REGISTRY_BAD_ANSWER'
  /** A registry platform cannot become a usage data provider (no COUNTER 5 / 5.1 service, bad URL). */
  | 'REGISTRY_NO_SERVICE';

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** `COUNTER Registry not reachable at <url>: <reason>; try again later or add the provider by hand`. */
export class RegistryUnreachableError extends RegistryError {
  override name = 'RegistryUnreachableError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(
      'REGISTRY_UNREACHABLE',
      `COUNTER Registry not reachable at ${url}: ${reason}; try again later or add the provider by hand`,
    );
  }
}

export class RegistryNotFoundError extends RegistryError {
  override name = 'RegistryNotFoundError';
  constructor(
    readonly kind: 'platform' | 'sushi-service',
    readonly id: string,
  ) {
    super('REGISTRY_NOT_FOUND', `The COUNTER Registry has no ${kind} ${id}`);
  }
}
