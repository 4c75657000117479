# SPDX-License-Identifier: GPL-2.0
# Sourced: puts the cached bindgen and libclang on the environment, as the
# kernel's Rust build needs them.
export PATH="$BINDGEN_DIR/bin:$PATH"
LIBCLANG_PATH=$(ls -d "$LIBCLANG_VENV"/lib/python3*/site-packages/clang/native | head -n1)
export LIBCLANG_PATH
