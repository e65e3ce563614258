"""Child process for :mod:`backend.llm.quantize`: quantise (the parent then proves the result runs).

    python -m backend.llm.quantize_worker IN OUT FTYPE ALLOW_REQUANTIZE

llama.cpp's log lines are printed to stdout (the parent turns "[ i/ n]" into progress); the last
line is "OK" when the output was written.
"""

from __future__ import annotations

import ctypes
import sys


def main(argv: list[str]) -> int:
    src, dst, ftype, allow = argv[0], argv[1], int(argv[2]), argv[3] == "1"
    import llama_cpp

    from backend.llm.ggml_backends import load_cpu_variants

    load_cpu_variants()  # no-op for a native build; the bundle's build finds its CPU kernels

    @llama_cpp.llama_log_callback
    def on_log(_level, text, _user_data):
        sys.stdout.write((text or b"").decode("utf-8", errors="replace"))
        sys.stdout.flush()

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = allow
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        print(f"\nerror: llama_model_quantize failed with code {rc}", flush=True)
        return 1
    # The result is checked by the parent with a canary generation in another child
    # (backend.llm.worker.safe_mode): the same guard and fallbacks as every first load.
    print("\nOK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
