import { VapidSigner } from "@reachbell/push";
import type { Deps } from "../context";

// Default VAPID contact outside production (production requires VAPID_SUBJECT).
const DEV_SUBJECT = "mailto:push@reachbell.localhost";

/**
 * One VapidSigner per project, built on first use: the private key is decrypted once and each
 * signer caches its token per push-service origin until close to expiry, so a message costs no
 * signature. A deleted project's signer is dropped through the invalidation bus.
 */
export class VapidSigners {
  private readonly signers = new Map<string, VapidSigner>();

  constructor(private readonly deps: Pick<Deps, "secrets" | "config" | "bus">) {
    deps.bus.subscribe((m) => {
      if (m.kind === "project") this.signers.delete(m.projectId);
    });
  }

  forProject(project: { id: string; vapidPublicKey: string; vapidPrivateKeyEnc: string }): VapidSigner {
    let signer = this.signers.get(project.id);
    if (!signer) {
      signer = new VapidSigner({
        publicKey: project.vapidPublicKey,
        privateKey: this.deps.secrets.open(project.vapidPrivateKeyEnc, project.id),
        subject: this.deps.config.vapidSubject ?? DEV_SUBJECT,
      });
      if (this.signers.size >= 10_000) this.signers.delete(this.signers.keys().next().value as string);
      this.signers.set(project.id, signer);
    }
    return signer;
  }
}
