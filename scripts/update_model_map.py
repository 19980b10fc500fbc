#!/usr/bin/env python3
"""Regenerates data/model_prices_and_context_window.json from LiteLLM's wheel on PyPI.

LiteLLM ships its model price and context-window map inside the wheel
(litellm/model_prices_and_context_window_backup.json). This script downloads
one pinned wheel with `pip download` (its sha256 is recorded), keeps the fields llmux reads (prices, token limits, provider, mode,
supports_* flags, supported_regions) and writes:

  data/model_prices_and_context_window.json   sorted keys, one entry per line
  data/LICENSE-litellm                        LiteLLM's licence, from the same wheel
  data/README.md                              where it came from and how to regenerate

Nothing from the wheel is executed: it is opened as a zip archive.

    scripts/update_model_map.py                 # the pinned version below
    scripts/update_model_map.py --version X.Y.Z # another release
    scripts/update_model_map.py --wheel FILE    # a wheel already downloaded
"""

import argparse
import hashlib
import io
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

# The release whose map llmux ships. Newer than the 1.81.13 the reference
# notes were read from, on purpose: 1.81.13's map prices gpt-oss-120b on
# Vertex AI like Bedrock, while Google's price (and this release's map) is
# lower. LiteLLM itself fetches the newest map at import unless
# LITELLM_LOCAL_MODEL_COST_MAP=True, so a recent map is what its users route by.
PINNED_VERSION = "1.110.2"
MAP_PATH = "litellm/model_prices_and_context_window_backup.json"

# Fields llmux reads or reports; supports_* flags are kept by prefix.
KEPT_FIELDS = {
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "max_input_tokens",
    "max_output_tokens",
    "max_tokens",
    "litellm_provider",
    "mode",
    "supported_regions",
}

ROOT = pathlib.Path(__file__).resolve().parent.parent


def fetch_wheel(version):
    """Returns (file name, bytes, sha256) of the litellm `version` wheel, downloaded by pip."""
    with tempfile.TemporaryDirectory() as tmp:
        # One platform named explicitly, so every machine picks the same wheel
        # (releases after 1.8x are per-platform; each carries the same JSON).
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"litellm=={version}", "--no-deps", "--only-binary=:all:",
             "--platform", "manylinux_2_28_x86_64", "--python-version", "3.12", "--dest", tmp, "--quiet"],
            check=True)
        wheels = list(pathlib.Path(tmp).glob("litellm-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"litellm {version}: expected one wheel, pip gave {[w.name for w in wheels]}")
        data = wheels[0].read_bytes()
        return wheels[0].name, data, hashlib.sha256(data).hexdigest()


def keep(entry):
    out = {}
    for field, value in entry.items():
        if field in KEPT_FIELDS or (field.startswith("supports_") and isinstance(value, bool)):
            out[field] = value
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default=PINNED_VERSION)
    ap.add_argument("--wheel", type=pathlib.Path, help="a litellm wheel already on disk")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "data")
    args = ap.parse_args()

    if args.wheel:
        name, data = args.wheel.name, args.wheel.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
    else:
        name, data, digest = fetch_wheel(args.version)
    version = name.split("-")[1]

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        source = json.loads(z.read(MAP_PATH))
        licences = [n for n in z.namelist() if ".dist-info/" in n and n.rsplit("/", 1)[-1].upper() == "LICENSE"]
        if not licences:
            sys.exit(f"{name}: no LICENSE in its dist-info")
        licence = z.read(licences[0]).decode("utf-8")

    source.pop("sample_spec", None)  # documentation of the format, not a model
    kept = {key: keep(entry) for key, entry in source.items() if isinstance(entry, dict)}
    priced = sum(1 for e in kept.values() if "input_cost_per_token" in e)

    args.out.mkdir(parents=True, exist_ok=True)
    # One entry per line: diffs between releases stay readable, the file small.
    lines = [
        f"  {json.dumps(key)}: {json.dumps(kept[key], sort_keys=True, separators=(',', ':'))}" for key in sorted(kept)
    ]
    (args.out / "model_prices_and_context_window.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
    (args.out / "LICENSE-litellm").write_text(licence)
    (args.out / "README.md").write_text(f"""# LiteLLM's model price and context-window map

`model_prices_and_context_window.json` is LiteLLM's public model map
(`{MAP_PATH}` in the `litellm` wheel on PyPI), reduced
to the fields llmux reads: `input_cost_per_token`, `output_cost_per_token`,
`cache_read_input_token_cost`, `cache_creation_input_token_cost`,
`max_input_tokens`, `max_output_tokens`, `max_tokens`, `litellm_provider`, `mode`,
`supported_regions` and the boolean `supports_*` flags. Keys are LiteLLM's.

- source: `{name}` (litellm {version}), sha256 `{digest}`
- entries: {len(kept)} ({priced} with a per-token input price)
- licence: LiteLLM's MIT licence, copied from the same wheel into `LICENSE-litellm`

The build compiles this file into libllmux (`cmake/embed_file.cmake`), so an
installed library needs no data file. Deployments that set no price or context
window of their own take them from it. `litellm_settings.model_cost_map_path` or the
environment variable `LLMUX_MODEL_COST_MAP` point a router at another file of the
same format instead; `Router::register_model_prices` (C: `llmux_router_register_model`,
Python: `Router.register_model`) adds or overrides entries at run time.

Regenerate (needs Python 3 with pip and access to PyPI):

    scripts/update_model_map.py                  # litellm {PINNED_VERSION}, the pinned release
    scripts/update_model_map.py --version X.Y.Z  # another release (then update PINNED_VERSION)
""")
    print(f"{name}: {len(kept)} entries -> {args.out}")


if __name__ == "__main__":
    main()
