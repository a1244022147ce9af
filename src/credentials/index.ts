/** Credentials encrypted at rest: keys, envelopes, the secret fields of records, rotation. */
export {
  decryptEnvelope,
  encryptValue,
  envelopeKeyId,
  Keyring,
  keyIdOf,
  looksEncrypted,
  parseEnvelope,
  SecretKey,
  type Envelope,
} from './cipher.ts';
export {
  CredentialDecryptError,
  CredentialError,
  CredentialInputError,
  CredentialKeyError,
  type CredentialErrorCode,
} from './errors.ts';
export {
  decryptSecrets,
  encryptSecrets,
  isSecretName,
  MASK,
  maskSecrets,
  mergeSecrets,
  moveUrlSecrets,
  rewriteSecrets,
  secretFields,
  storedSecretValues,
  type MovedUrlSecrets,
  type SecretRecordKind,
} from './fields.ts';
export {
  keyFilePath,
  loadKeyring,
  parseSecretKey,
  PREVIOUS_SECRET_KEY_VARIABLE,
  SECRET_KEY_VARIABLE,
  type KeyringOptions,
  type KeySource,
  type LoadedKeyring,
} from './key.ts';
export {
  rotateCredentials,
  type RotationOptions,
  type RotationResult,
  type StoredCredentialRecord,
} from './rotate.ts';
