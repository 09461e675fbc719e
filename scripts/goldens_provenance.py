#!/usr/bin/env python3
"""Pinned tool versions and provenance sidecars for the fixtures that scripts/make-goldens writes.

  goldens_provenance.py check
      Compares the installed Python and packages with PINS. A mismatch prints each difference and exits 1,
      unless STRATA_GOLDENS_ANY_VERSIONS=1, which turns it into a loud warning (the sidecars then record the
      versions actually used).
  goldens_provenance.py record FIXTURE GENERATOR_COMMAND [INPUT ...]
      Writes FIXTURE.provenance.json beside FIXTURE (a file or a directory): the sha256 of the fixture's
      content, the command that regenerates every fixture (scripts/make-goldens), the generator's own command,
      the Python and package versions, and the sha256 of each INPUT file (model weights, data). Paths under
      the repository, $STRATA_MODELS and $STRATA_SHARED are written relative to them, so the sidecar does
      not depend on the machine. No timestamps: an unchanged fixture gets a byte-identical sidecar.
  goldens_provenance.py verify ROOT
      Checks every *.provenance.json under ROOT against its fixture's current sha256; exits 1 on a mismatch
      (a fixture edited by hand or regenerated without its sidecar).
"""
import hashlib
import importlib.metadata
import json
import os
import platform
import sys

# The versions the committed fixtures were generated with (pip names). scripts/setup installs these.
PINS = {
    "python": "3.11",
    "numpy": "2.4.6",
    "tokenizers": "0.23.3",
    "safetensors": "0.8.0",
    "pytrec_eval-terrier": "0.5.11",
    "autograd": "1.7.0",
}

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def installed():
    out = {"python": platform.python_version()}
    for name in PINS:
        if name == "python":
            continue
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def check():
    have = installed()
    bad = []
    for name, want in PINS.items():
        got = have[name]
        ok = got is not None and (got == want or (name == "python" and got.startswith(want + ".")))
        if not ok:
            bad.append(f"  {name}: pinned {want}, installed {got or 'NOTHING'}")
    if not bad:
        print("make-goldens: tool versions match the pins: " + ", ".join(f"{k} {v}" for k, v in have.items()), file=sys.stderr)
        return 0
    msg = "make-goldens: tool versions differ from the pins in scripts/goldens_provenance.py:\n" + "\n".join(bad)
    if os.environ.get("STRATA_GOLDENS_ANY_VERSIONS") == "1":
        bar = "!" * 100
        print(f"{bar}\n{msg}\nSTRATA_GOLDENS_ANY_VERSIONS=1: going on; the fixtures may change in their last digits "
              f"and the sidecars record the versions used.\n{bar}", file=sys.stderr)
        return 0
    print(msg + "\n(install the pinned versions: scripts/setup; or set STRATA_GOLDENS_ANY_VERSIONS=1 to go on anyway)",
          file=sys.stderr)
    return 1


def sha256_of(path):
    """sha256 of a file, or of a directory: every file's relative path and content, in sorted order."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(root, f)
                h.update(os.path.relpath(p, path).encode() + b"\0")
                with open(p, "rb") as fh:
                    h.update(hashlib.sha256(fh.read()).digest())
    else:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def portable(path):
    """The path relative to the repository, $STRATA_MODELS or $STRATA_SHARED (named), else as given."""
    path = os.path.realpath(path)
    roots = [("$STRATA_MODELS", os.environ.get("STRATA_MODELS", os.path.expanduser("~/.cache/strata/models"))),
             ("$STRATA_SHARED", os.environ.get("STRATA_SHARED", os.path.join(REPO, "..", "shared"))),
             ("", REPO)]
    for name, root in roots:
        root = os.path.realpath(root)
        if path == root or path.startswith(root + os.sep):
            rel = os.path.relpath(path, root)
            return f"{name}/{rel}" if name else rel
    return path


def record(fixture, generator_command, inputs):
    if not os.path.exists(fixture):
        sys.exit(f"make-goldens: {fixture} was not written")
    have = installed()
    meta = {
        "fixture": portable(fixture),
        "sha256": sha256_of(fixture),
        "regenerate": "scripts/make-goldens",
        "generator_command": generator_command,
        "python": have["python"],
        "packages": {k: v for k, v in have.items() if k != "python"},
        "inputs": {portable(p): sha256_of(p) for p in inputs},
    }
    side = fixture.rstrip("/") + ".provenance.json"
    with open(side, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


def verify(root):
    bad = 0
    n = 0
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if not f.endswith(".provenance.json"):
                continue
            n += 1
            side = os.path.join(dirpath, f)
            fixture = side[: -len(".provenance.json")]
            with open(side, encoding="utf-8") as fh:
                want = json.load(fh)["sha256"]
            got = sha256_of(fixture) if os.path.exists(fixture) else "MISSING"
            if got != want:
                bad += 1
                print(f"make-goldens: {portable(fixture)} does not match its sidecar ({got[:12]} != {want[:12]})", file=sys.stderr)
    print(f"make-goldens: {n - bad} of {n} fixtures match their provenance sidecars", file=sys.stderr)
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        sys.exit(check())
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3], sys.argv[4:])
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2]))
    sys.exit(__doc__)
