/**
 * Splits an OCI image reference into name and tag, per the distribution reference grammar:
 *   [registry[:port]/]path[:tag][@digest]
 * A colon before the last '/' belongs to the registry port, not a tag.
 */
export interface ImageRef {
  /** Everything before the tag/digest: `ghcr.io/acme/api`, `nginx`. */
  name: string;
  tag?: string;
  /** `sha256:…` when pinned by digest. */
  digest?: string;
}

export function parseImageRef(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let tag: string | undefined;
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  // Docker's rule: no tag and no digest means :latest.
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { name: rest, tag, digest };
}
