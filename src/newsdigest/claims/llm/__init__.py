"""The "openai" claim ranker: a language model behind an OpenAI-compatible chat endpoint picks a story's claims.

The model only chooses; it never writes. A claim it returns reaches the digest only when every sentence is
a whole sentence of the article it names (the article's own characters are kept, not the model's copy) and
it passes the same fidelity check as the extractive claims. On any failure the caller falls back to the
extractive claims, so a digest is always written.

- prompt: the chat messages asking for a story's claims.
- reply: the claims of the model's answer, however it wraps its JSON.
- check: a proposed claim against its article: whole sentences, fidelity, the article's own speaker.
- client: LLMSummarizer, the ranker (one per digest, one connection).
"""
