/** Answers of the onboarding and credential endpoints: key rotation, the COUNTER Registry, consortia. */

/** `POST /admin/credentials/rotate`. */
export interface CredentialRotation {
  /** The key every credential is now encrypted under. */
  keyId: string;
  tenants: number;
  /** Providers and aggregator settings looked at. */
  records: number;
  /** Records rewritten. */
  written: number;
  /** Values moved from a previous key. */
  reencrypted: number;
  /** Values that were stored in plain text. */
  encrypted: number;
  alreadyCurrent: number;
}
