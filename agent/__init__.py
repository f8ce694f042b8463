"""The shopping agent: model seam, tools, loop, offline engine and retrieval."""
