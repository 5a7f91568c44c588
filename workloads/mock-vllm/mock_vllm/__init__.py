"""mock-vllm: an inference engine that behaves like vLLM's OpenAI server, without a GPU."""

__version__ = "0.1.0"
