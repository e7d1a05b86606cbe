"""OpenAI GPT for plugformers; the classes are registered through plugformers_openai_gpt.plugin."""
