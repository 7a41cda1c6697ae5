export { startPushServicePeer } from "./push-service-peer";
export type {
  PeerOptions,
  PeerSubscriber,
  PushServicePeer,
  ReceivedPush,
  RejectedPush,
  ScriptedResponse,
} from "./push-service-peer";
