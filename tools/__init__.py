"""Developer tools: tools/assistant.py starts the assistant, tools/chat.py talks to it."""
