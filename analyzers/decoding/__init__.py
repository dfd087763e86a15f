"""Continuous batching of generative models: many streams share each decoding step."""
