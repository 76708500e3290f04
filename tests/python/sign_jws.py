"""Sign a ClawSec attestation as a JWS with an independent JOSE library (joserfc).

Usage: sign_jws.py attestation.key ATTESTATION.json KID OUT.jws

The payload is the attestation without its `signature` member, as ClawSec's own JWS
export carries it; the header is {"alg": "ES256", "kid": KID}.

ClawSec accepts only low-S signatures (one document, one encoding), and JOSE libraries
do not normalize, so this signs until the library's randomized signature is low-S, and
also writes its high-S twin (s replaced by n - s, equally valid ECDSA) to OUT.high-s.
"""
import base64
import json
import sys

from joserfc import jws
from joserfc.jwk import ECKey

# The order of the P-256 group.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main() -> int:
    key_path, doc_path, kid, out = sys.argv[1:5]
    with open(key_path, "rb") as f:
        key = ECKey.import_key(f.read())
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    doc.pop("signature", None)
    payload = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for _ in range(64):
        token = jws.serialize_compact({"alg": "ES256", "kid": kid}, payload, key)
        head, sig = token.rsplit(".", 1)
        raw = b64url_decode(sig)
        r, s = raw[:32], int.from_bytes(raw[32:], "big")
        if s <= N // 2:
            break
    else:
        print("joserfc never produced a low-S signature", file=sys.stderr)
        return 1
    with open(out, "w", encoding="utf-8") as f:
        f.write(token)
    twin = head + "." + b64url_encode(r + (N - s).to_bytes(32, "big"))
    with open(out + ".high-s", "w", encoding="utf-8") as f:
        f.write(twin)
    print("joserfc: signed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
