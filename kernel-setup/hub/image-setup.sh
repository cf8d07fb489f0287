#!/usr/bin/env bash
# The course's kernel and Jupyter stack for the single-user image (Dockerfile beside this
# script): evcxr, the virtualenv with JupyterLab and the kernelspec, all under the
# checkout's .local/, exactly as `cargo lab` and `cargo test` install them. course/tests/hub.rs
# runs this script on a clean checkout and checks that the Dockerfile runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run --locked --quiet --package kernel-setup -- setup
# What a hub's single-user server needs beside JupyterLab, at the hub's pinned versions.
.local/venv/bin/python -m pip install --disable-pip-version-check --no-input \
  --constraint kernel-setup/requirements-hub.txt jupyterhub nbgitpuller
# The build folders are not needed at run time; the image keeps the installed kernel.
rm -rf .local/build target
