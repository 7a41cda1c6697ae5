// @reachbell/push: build (encrypt + VAPID-sign) and send Web Push messages.
export { fromBase64Url, toBase64Url } from "./base64url";
export {
  generateVapidKeys,
  isValidP256PublicKey,
  isValidVapidKeyPair,
  publicKeyFromPrivate,
  type VapidKeys,
} from "./vapid-keys";
export {
  decryptAes128gcm,
  encryptAes128gcm,
  encryptedBodyBytes,
  fitsPushLimit,
  HEADER_BYTES,
  MAX_ENCRYPTED_BYTES,
  MAX_PLAINTEXT_BYTES,
  RECORD_SIZE,
  type EncryptOptions,
  type SubscriberKeys,
} from "./encrypt";
export {
  audienceOf,
  createVapidSigner,
  isValidVapidSubject,
  parseVapidAuthorization,
  signVapidJwt,
  VAPID_MAX_LIFETIME_SECONDS,
  VapidSigner,
  verifyVapidJwt,
  type VapidClaims,
  type VapidSignerOptions,
  type VapidVerifyFailure,
  type VapidVerifyOptions,
  type VapidVerifyResult,
} from "./vapid";
export {
  assemblePushRequest,
  buildPushRequest,
  encryptPushPayload,
  type AssemblePushRequestOptions,
  DEFAULT_TTL_SECONDS,
  isValidTopic,
  MAX_TOPIC_LENGTH,
  MAX_TTL_SECONDS,
  type BuildPushRequestOptions,
  type PushRequest,
  type PushSubscriptionKeys,
  type Urgency,
} from "./request";
export {
  checkEndpoint,
  checkEndpointUrl,
  classifyAddress,
  createGuardedLookup,
  ForbiddenAddressError,
  isForbiddenAddress,
  type AddressClass,
  type EndpointCheck,
  type EndpointGuardOptions,
  type EndpointRefusal,
  type GuardedLookupOptions,
} from "./endpoint-guard";
export { createPushSender, type PushSender, type PushSenderOptions, type SendErrorCode, type SendResult } from "./sender";
export {
  classifySendResult,
  parseRetryAfter,
  sendWithRetry,
  type AttemptRecord,
  type DeliveryResult,
  type PushOutcome,
  type RetryOptions,
  type Verdict,
} from "./retry";
export {
  DecryptError,
  PushInputError,
  type DecryptErrorCode,
  type PushInputErrorCode,
} from "./errors";
