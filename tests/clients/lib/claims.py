"""check_claims: decode a JWT's payload (unverified, as az does) and assert expressions over it.

usage: claims.py <jwt> <expr>...   each expr is Python over `c` (the payload dict) and `env`
"""
import base64
import json
import os
import sys


def payload(jwt):
    parts = jwt.split(".")
    if len(parts) != 3:
        sys.exit(f"not a JWS compact token: {len(parts)} parts")
    seg = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(seg))


def main():
    c = payload(sys.argv[1])
    env = os.environ
    bad = [e for e in sys.argv[2:] if not eval(e, {}, {"c": c, "env": env})]  # noqa: S307
    if bad:
        print("claims: " + json.dumps(c, indent=1, sort_keys=True), file=sys.stderr)
        sys.exit("claim checks failed: " + "; ".join(bad))


if __name__ == "__main__":
    main()
