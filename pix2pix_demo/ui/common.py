"""Small pieces shared by the tabs: ZeroGPU support, turning user errors into UI messages."""

from __future__ import annotations

import functools
import logging
import os

import gradio as gr

from . import logic

logger = logging.getLogger(__name__)

# Every model call shares one queue slot: on a 2-core CPU two concurrent forward passes are
# slower than two in a row, and memory stays flat under load.
MODEL_CONCURRENCY = {"concurrency_id": "pix2pix-model", "concurrency_limit": 1}


def gpu(fn):
    """`spaces.GPU(fn)` on Hugging Face ZeroGPU hardware (env SPACES_ZERO_GPU), else `fn` unchanged.

    The `spaces` package exists only on Spaces; locally (and when it is missing) this is a no-op."""
    if not os.environ.get("SPACES_ZERO_GPU"):
        return fn
    try:
        import spaces
    except ImportError:
        logger.warning("SPACES_ZERO_GPU is set but the `spaces` package is missing; running without it.")
        return fn
    return spaces.GPU(fn)


def user_messages(empty_result, warn_on_empty: bool = True):
    """Decorator for handlers: InputError -> gr.Error (a red message, the server keeps serving);
    EmptyInput -> gr.Warning (or nothing, for live events) and `empty_result` as the output."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except logic.EmptyInput as error:
                if warn_on_empty:
                    gr.Warning(str(error))
                return empty_result
            except logic.InputError as error:
                raise gr.Error(str(error), print_exception=False) from None

        return wrapper

    return decorate
