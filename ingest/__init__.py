"""Files to chunks: loaders, metadata, masking and chunking. Knows nothing about the store."""
