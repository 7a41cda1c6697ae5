// Typed errors for bad inputs, so the API layer can map a code to a 4xx answer
// (e.g. payload_too_large → 422 naming the limit) without parsing messages.

export type PushInputErrorCode =
  | "invalid_endpoint"
  | "invalid_p256dh"
  | "invalid_auth"
  | "payload_too_large"
  | "invalid_ttl"
  | "invalid_urgency"
  | "invalid_topic";

export class PushInputError extends Error {
  override readonly name = "PushInputError";
  constructor(
    readonly code: PushInputErrorCode,
    message: string,
    /** For payload_too_large: the maximum plaintext size in bytes. */
    readonly limit?: number,
  ) {
    super(message);
  }
}

export type DecryptErrorCode = "malformed_header" | "multiple_records" | "invalid_key" | "auth_failed" | "bad_padding";

/** Raised by the receiver side (decryptAes128gcm); used by the test push-service peer. */
export class DecryptError extends Error {
  override readonly name = "DecryptError";
  constructor(
    readonly code: DecryptErrorCode,
    message: string,
  ) {
    super(message);
  }
}
