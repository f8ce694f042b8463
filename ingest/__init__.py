"""Ingestion of merchant files into the relational and vector stores."""
