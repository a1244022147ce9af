/**
 * Errors of the credentials module. Each carries a stable `code`; no message ever contains a secret
 * value or a key — only key ids (fingerprints), field paths, record ids and file paths.
 */
export type CredentialErrorCode =
  /** HARVESTER_SECRET_KEY or the key file holds something that is not a 32-byte key. */
  | 'KEY_FORMAT'
  /** Encrypted credentials exist but no key is available (no variable, key file gone). */
  | 'KEY_MISSING'
  /** Stored credentials were encrypted under a key id that is not the one in use. */
  | 'KEY_MISMATCH'
  /** The key file cannot be read or created. */
  | 'KEY_FILE'
  /** A value is encrypted under a key this keyring does not hold. */
  | 'UNKNOWN_KEY'
  /** The authentication tag does not match: wrong key material or an altered value. */
  | 'DECRYPT_FAILED'
  /** A value starts like an envelope but is not a well-formed one. */
  | 'BAD_ENVELOPE'
  /** An envelope of a format version this code does not know (written by a newer version). */
  | 'UNSUPPORTED_VERSION'
  /** A client sent an encrypted envelope as a credential value. */
  | 'ENCRYPTED_INPUT';

export class CredentialError extends Error {
  override name = 'CredentialError';
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The service cannot start with the key it was given (format, missing, mismatch, key file). */
export class CredentialKeyError extends CredentialError {
  override name = 'CredentialKeyError';
}

/** A stored value cannot be decrypted (unknown key, failed integrity check, malformed envelope). */
export class CredentialDecryptError extends CredentialError {
  override name = 'CredentialDecryptError';
}

/** A written record carries a credential value the API must refuse; `field` is its dotted path. */
export class CredentialInputError extends CredentialError {
  override name = 'CredentialInputError';
  constructor(
    code: CredentialErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(code, message);
  }
}
