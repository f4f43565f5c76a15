"""LLM providers behind one small protocol, one file per provider."""
