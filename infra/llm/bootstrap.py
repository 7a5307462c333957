"""Composition root of the model server: model file -> chat handler -> llama_cpp.server app."""

from __future__ import annotations

from fastapi import FastAPI
from llama_cpp.llama_chat_format import LlamaChatCompletionHandlerRegistry
from llama_cpp.server.app import create_app as create_llama_app
from llama_cpp.server.settings import ModelSettings, ServerSettings

from infra.llm.admission import AdmissionLimit
from infra.llm.model_files import model_path
from infra.llm.requests import ChatRequestGate
from infra.llm.settings import LlmSettings
from infra.llm.tool_calls import CHAT_FORMAT, ToolCallHandler
from shared.http.app import health_router


async def _model_loaded() -> bool:
    return True  # the app exists only once the model is loaded


def create_app(settings: LlmSettings) -> FastAPI:
    """The OpenAI-compatible app: ``/v1/chat/completions``, ``/v1/models``, health.

    Loads the model before returning (the port opens only once it can answer). The settings of
    llama_cpp.server are built with ``model_validate``, which reads no environment variables:
    its own unprefixed ones (``API_KEY``, ``N_CTX``, ...) must not leak in from the platform's.
    """
    path = model_path(settings.model)
    handler = ToolCallHandler(model=settings.model, max_tokens=settings.max_tokens)
    registry = LlamaChatCompletionHandlerRegistry()  # type: ignore[no-untyped-call]
    # The handler reads and writes plain JSON dicts rather than llama_types' TypedDicts.
    registry.register_chat_completion_handler(CHAT_FORMAT, handler, overwrite=True)  # type: ignore[arg-type]
    model = ModelSettings.model_validate(
        {
            "model": str(path),
            "model_alias": settings.model,
            "chat_format": CHAT_FORMAT,
            "n_ctx": settings.context,
            "n_threads": settings.threads,
            "n_threads_batch": settings.threads,
            "n_gpu_layers": 0,
            # Prompt caching: llama.cpp keeps the last prompt's KV cache and evaluates only
            # what follows the longest common prefix (the system prompt and tools every turn).
            "cache": False,
            "verbose": False,
        }
    )
    server = ServerSettings.model_validate(
        {
            "host": settings.http.host,
            "port": settings.port,
            "api_key": None,
            # A queued request must not cut the running stream short.
            "interrupt_requests": False,
        }
    )
    app: FastAPI = create_llama_app(server_settings=server, model_settings=[model])
    app.include_router(health_router({"model": _model_loaded}))
    app.add_middleware(ChatRequestGate)
    app.add_middleware(AdmissionLimit, limit=settings.max_requests)  # outermost: refuses first
    return app
