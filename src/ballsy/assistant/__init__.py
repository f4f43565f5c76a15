"""Turn handling: skills first, else the LLM with the user's memory."""
